# embed_dir.cmake — writes one C source holding every file of a folder (the web UI's assets)
# as a table of {path, bytes, length, ETag}, so that the UI is compiled into the binary
# without an external tool or a build step.
#
# Included from CMakeLists.txt, it defines embed_dir_files(DIR VAR): the files that go in
# (sorted, recursive), so that the build can depend on exactly them. Run as a script:
#
#   cmake -DDIR=src/ui -DOUTPUT=out.c -P embed_dir.cmake
#
# it writes OUTPUT, which includes "ui/ui_int.h" and defines `ui_files` and `ui_files_count`
# (see that header). Paths in the table are relative to DIR with '/' separators
# ("pages/traces.js"). The ETag of a file is a strong entity tag made of the first 20 hex
# digits of its SHA-256, so it changes exactly when the bytes do.

# Every file under dir except C sources and headers (the module that serves the table lives
# in the same folder), hidden files and editor backups. In a project the glob is re-checked
# at build time (CONFIGURE_DEPENDS), so an added or removed file reconfigures.
function(embed_dir_files dir var)
  set(recheck CONFIGURE_DEPENDS)
  if(CMAKE_SCRIPT_MODE_FILE)
    set(recheck "")
  endif()
  file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE "${dir}" ${recheck} "${dir}/*")
  list(FILTER files EXCLUDE REGEX "(^|/)\\.")
  list(FILTER files EXCLUDE REGEX "(\\.[ch]|~)$")
  list(SORT files)
  set(${var} ${files} PARENT_SCOPE)
endfunction()

if(NOT CMAKE_SCRIPT_MODE_FILE)
  return()
endif()

foreach(var DIR OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_dir.cmake: ${var} is not set")
  endif()
endforeach()

embed_dir_files("${DIR}" files)
if(NOT files)
  message(FATAL_ERROR "embed_dir.cmake: no file to embed in ${DIR}")
endif()

string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
set(arrays "")
set(table "")
set(i 0)
foreach(rel ${files})
  # names become C string literals and URL paths: keep them to characters safe in both
  if(NOT rel MATCHES "^[A-Za-z0-9_./-]+$")
    message(FATAL_ERROR "embed_dir.cmake: ${DIR}/${rel}: use only A-Z a-z 0-9 _ . - / in names")
  endif()
  file(READ "${DIR}/${rel}" hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR len "${n} / 2")
  # 16 bytes a line: "0xAB," each.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
  string(REGEX REPLACE "(${line})" "\\1\n    " body "${body}")
  file(SHA256 "${DIR}/${rel}" sum)
  string(SUBSTRING "${sum}" 0 20 sum)
  # one NUL after the bytes keeps an empty file's array non-empty
  string(APPEND arrays "/* ${rel} */\nstatic const unsigned char f${i}[] = {\n    ${body}0x00};\n\n")
  string(APPEND table "    {\"${rel}\", f${i}, ${len}, \"\\\"${sum}\\\"\"},\n")
  math(EXPR i "${i} + 1")
endforeach()

get_filename_component(from "${DIR}" NAME)
set(text "/* Generated from the files of ${from}/ by cmake/embed_dir.cmake; do not edit. */\n")
string(APPEND text "#include \"ui/ui_int.h\"\n\n")
string(APPEND text "${arrays}")
string(APPEND text "const ui_file ui_files[] = {\n${table}};\n")
string(APPEND text "const size_t ui_files_count = ${i};\n")
# Write through a temporary file so that an interrupted build never leaves half a source.
file(WRITE "${OUTPUT}.tmp" "${text}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
