# embed_file.cmake — writes a C source holding a file's bytes, so that data files (the price
# table, ...) are compiled into the binary without an external tool such as xxd.
#
#   cmake -DINPUT=file -DOUTPUT=out.c -DSYMBOL=name -P embed_file.cmake
#
# defines `const unsigned char name[]` (the bytes and one NUL after them, so that the array
# is never empty and text can be read as a C string) and `const size_t name_len` (the byte
# count, NUL not included).
foreach(var INPUT OUTPUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_file.cmake: ${var} is not set")
  endif()
endforeach()

file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
# 16 bytes a line: "0xAB," each.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " body "${body}")

get_filename_component(from "${INPUT}" NAME)
set(text "/* Generated from ${from} by cmake/embed_file.cmake; do not edit. */\n")
string(APPEND text "#include <stddef.h>\n\n")
string(APPEND text "extern const unsigned char ${SYMBOL}[];\n")
string(APPEND text "extern const size_t ${SYMBOL}_len;\n\n")
string(APPEND text "const unsigned char ${SYMBOL}[] = {\n    ${body}0x00};\n")
string(APPEND text "const size_t ${SYMBOL}_len = ${len};\n")
# Write through a temporary file so that an interrupted build never leaves half a source.
file(WRITE "${OUTPUT}.tmp" "${text}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
