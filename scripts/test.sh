#!/usr/bin/env bash
# test.sh — the whole test suite, as CI runs it (through .ci/run).
#
#   release  release build in build/, `npm ci` in tests/integration and tests/ui, ctest -j2
#            (the UI tests drive Debian's Chromium; screenshots in build/ui-artifacts/; the
#            clickhouse.* tests run the engine-independent integration suites and
#            tests/clickhouse/ against Debian's clickhouse-server, one per test file)
#   asan     ASan+UBSan build in build-asan/ (-DLT_SANITIZE=ON), ctest -j2 there (the
#            integration tests then drive the sanitized server); of the clickhouse.* tests
#            only those of tests/clickhouse/ (the label clickhouse-suites marks the integration
#            suites run again on ClickHouse: they would double the step's time)
#   tsan     ThreadSanitizer build in build-tsan/ (-DLT_TSAN=ON): the unit tests and the
#            integration tests that drive the threads hardest (ingest under overload,
#            tenants, gRPC, the configured pipelines with their exporter threads) against
#            the instrumented server
#   fuzz     clang libFuzzer build in build-fuzz/ (-DLT_FUZZ=ON -DLT_SANITIZE=ON); every
#            fuzz_* target runs LT_FUZZ_SECONDS (default 45; 0 = the seeds once), two at a
#            time (a fuzzer is one thread), seeded from
#            the fixture bodies (.pb/.grpc.bin for fuzz_pb, .json for fuzz_json, gzipped
#            bodies for fuzz_gzip, protobuf bodies in a gRPC frame behind three zero bytes
#            of options for fuzz_grpc, tests/data/config/*.yaml and the JSON bodies for
#            fuzz_config, tests/data/ottl/* (a context byte, then a statement) for
#            fuzz_ottl, the captures of tests/data/metrics and the *-metrics.* fixture
#            bodies for fuzz_metrics, all bodies for any other target);
#            a missing fuzz binary is a failure; crashes are kept in build-fuzz/artifacts/
#   lint     banned calls (sprintf strcpy strcat gets atoi atol) in src/, and
#            clang-format --dry-run --Werror over the C sources of src/ tests/ bench/
#
# The last line printed is "N passed, N failed": ctest's test counts plus one per fuzz target
# plus one per lint check (a build or install step that fails counts as one failure). Exits
# non-zero on any failure. LT_STEPS="release lint" runs only the named steps (the others are
# reported as not run); the default is all five.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

JOBS=2
FUZZ_SECONDS="${LT_FUZZ_SECONDS:-45}"
if ! [[ "$FUZZ_SECONDS" =~ ^[0-9]+$ ]]; then
  echo "test.sh: LT_FUZZ_SECONDS must be a whole number of seconds (0 = run the seeds once)" >&2
  exit 2
fi
STEPS="${LT_STEPS:-release asan tsan fuzz lint}"
FIXTURES="${LT_FIXTURES:-$ROOT/../shared/fixtures}"
# Fuzz targets that must exist (besides any tests/fuzz/fuzz_*.c): the decoders of every
# byte that arrives from the network, and of the configuration.
REQUIRED_FUZZERS=(fuzz_pb fuzz_json fuzz_gzip fuzz_genai fuzz_grpc fuzz_config fuzz_ottl fuzz_metrics)

PASSED=0
FAILED=0
RESULTS=()
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

banner() { printf '\n======== %s ========\n' "$*"; }
ok() { PASSED=$((PASSED + 1)); RESULTS+=("pass  $1"); }
bad() { FAILED=$((FAILED + 1)); RESULTS+=("FAIL  $1"); echo "FAIL: $1"; }
wanted() { [[ " $STEPS " == *" $1 "* ]]; }
elapsed() { printf '%dm%02ds' $((SECONDS / 60)) $((SECONDS % 60)); }

# ctest in build dir $1, counted into the totals under label $2.
run_ctest() { # dir label [ctest args...]
  local dir="$1" label="$2" log="$TMP/ctest-$2.log" line total nfail
  shift 2
  ctest --test-dir "$dir" --output-on-failure -j"$JOBS" "$@" 2>&1 | tee "$log"
  line="$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)"
  if [ -z "$line" ]; then
    bad "$label: ctest printed no summary (no tests found?)"
    return
  fi
  total="$(sed -E 's/.* out of ([0-9]+)/\1/' <<<"$line")"
  nfail="$(sed -E 's/.*, ([0-9]+) tests? failed.*/\1/' <<<"$line")"
  if [ "$total" -eq 0 ]; then
    bad "$label: ctest ran no test"
    return
  fi
  PASSED=$((PASSED + total - nfail))
  FAILED=$((FAILED + nfail))
  RESULTS+=("$( [ "$nfail" -eq 0 ] && echo 'pass ' || echo 'FAIL ') $label: $((total - nfail))/$total ctest tests passed")
  if [ "$nfail" -gt 0 ]; then
    sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^[[:space:]]+[0-9]+ - ' | sed "s/^[[:space:]]*/  $label: /" || true
  fi
}

build() { # dir label cmake-args...
  local dir="$1" label="$2"
  shift 2
  if ! cmake -S . -B "$dir" "$@"; then
    bad "$label: cmake configure failed"
    return 1
  fi
  if ! cmake --build "$dir" -j"$JOBS"; then
    bad "$label: build failed"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------
# (a) release build + integration test dependencies + ctest

if wanted release; then
  banner "release build (build/)  [$(elapsed)]"
  if build build release -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    banner "npm ci (tests/integration, tests/ui)  [$(elapsed)]"
    if ! (cd tests/integration && npm ci --no-audit --no-fund --loglevel=error); then
      bad "release: npm ci in tests/integration failed"
    elif ! (cd tests/ui && npm ci --no-audit --no-fund --loglevel=error); then
      bad "release: npm ci in tests/ui failed"
    else
      banner "ctest (release)  [$(elapsed)]"
      run_ctest build release
    fi
  fi
else
  RESULTS+=("----  release: not run (LT_STEPS)")
fi

# ---------------------------------------------------------------------------------------
# (b) ASan + UBSan

if wanted asan; then
  banner "ASan+UBSan build (build-asan/)  [$(elapsed)]"
  if build build-asan asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLT_SANITIZE=ON; then
    for d in tests/integration tests/ui; do
      if [ ! -d "$d/node_modules" ]; then
        (cd "$d" && npm ci --no-audit --no-fund --loglevel=error) || bad "asan: npm ci in $d failed"
      fi
    done
    banner "ctest (ASan+UBSan)  [$(elapsed)]"
    saved_asan="${ASAN_OPTIONS-}" saved_ubsan="${UBSAN_OPTIONS-}"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    run_ctest build-asan asan -LE clickhouse-suites
    export ASAN_OPTIONS="$saved_asan" UBSAN_OPTIONS="$saved_ubsan"
  fi
else
  RESULTS+=("----  asan: not run (LT_STEPS)")
fi

# ---------------------------------------------------------------------------------------
# (b2) ThreadSanitizer

if wanted tsan; then
  banner "ThreadSanitizer build (build-tsan/)  [$(elapsed)]"
  if build build-tsan tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLT_TSAN=ON; then
    if [ ! -d tests/integration/node_modules ]; then
      (cd tests/integration && npm ci --no-audit --no-fund --loglevel=error) || bad "tsan: npm ci in tests/integration failed"
    fi
    banner "ctest (TSan)  [$(elapsed)]"
    saved_tsan="${TSAN_OPTIONS-}"
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 exitcode=66 second_deadlock_stack=1}"
    run_ctest build-tsan tsan -R '^(unit\.|integration\.(auth|overload|grpc|fixtures|pipeline|seed)$)'
    export TSAN_OPTIONS="$saved_tsan"
  fi
else
  RESULTS+=("----  tsan: not run (LT_STEPS)")
fi

# ---------------------------------------------------------------------------------------
# (c) libFuzzer targets

seed_corpus() { # target dir
  local target="$1" dir="$2" f name sz
  mkdir -p "$dir"
  local pbs jsons
  pbs="$(find "$FIXTURES/otlp" -type f \( -name '*.pb' -o -name '*.grpc.bin' \) | sort)"
  jsons="$(find "$FIXTURES/otlp" -type f -name '[0-9][0-9][0-9][0-9]-*.json' ! -name '*.meta.json' | sort)"
  case "$target" in
    fuzz_pb) list="$pbs" ;;
    fuzz_json) list="$jsons" ;;
    fuzz_config) list="$(find "$ROOT/tests/data/config" -type f -name '*.yaml' | sort)"$'\n'"$jsons" ;;
    fuzz_grpc) list="$pbs" ;;
    fuzz_ottl) list="$(find "$ROOT/tests/data/ottl" -type f | sort)" ;;
    fuzz_metrics) list="$(find "$ROOT/tests/data/metrics" -maxdepth 1 -type f \( -name '*.pb' -o -name '*.json' \) ! -name 'package*.json' | sort)"$'\n'"$(find "$FIXTURES/otlp" -type f -name '*-metrics.*' ! -name '*.meta.json' | sort)" ;;
    *) list="$pbs"$'\n'"$jsons" ;;
  esac
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    name="$(realpath --relative-to="$FIXTURES/otlp" "$f" | tr '/' '_')"
    if [ "$target" = fuzz_gzip ]; then
      gzip -c -n "$f" >"$dir/$name.gz"
    elif [ "$target" = fuzz_grpc ]; then
      # flags, knobs and faults 0 (see tests/fuzz/fuzz_grpc.c), then Compressed-Flag 0,
      # the big-endian Message-Length and the message
      sz=$(stat -c %s "$f")
      { printf '\000\000\000\000'
        printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((sz >> 24 & 255)) $((sz >> 16 & 255)) $((sz >> 8 & 255)) $((sz & 255)))"
        cat "$f"; } >"$dir/$name"
    elif [ "$target" = fuzz_export ] && [ "${f%.json}" = "$f" ]; then
      # as they are, and as requests to cut (tests/fuzz/fuzz_export.c: case 5, then the
      # signal: 0 traces, 1 metrics, 2 logs, and a bound of 1 item)
      cp "$f" "$dir/$name"
      case "$f" in *-traces.*) sel='\000' ;; *-metrics.*) sel='\001' ;; *) sel='\002' ;; esac
      { printf "\005$sel"; cat "$f"; } >"$dir/split_$name"
    else
      cp "$f" "$dir/$name"
    fi
  done <<<"$list"
  find "$dir" -type f | wc -l
}

if wanted fuzz; then
  banner "fuzz build (build-fuzz/, clang)  [$(elapsed)]"
  targets=("${REQUIRED_FUZZERS[@]}")
  for src in tests/fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    t="$(basename "$src" .c)"
    [[ " ${targets[*]} " == *" $t "* ]] || targets+=("$t")
  done
  if [ ! -d "$FIXTURES/otlp" ]; then
    bad "fuzz: fixtures not found at $FIXTURES (set LT_FIXTURES)"
  elif ! command -v clang >/dev/null 2>&1; then
    bad "fuzz: clang not installed (scripts/setup.sh --deps-only)"
  elif ! cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLT_FUZZ=ON -DLT_SANITIZE=ON -DCMAKE_C_COMPILER=clang; then
    bad "fuzz: cmake configure failed"
  else
    mkdir -p build-fuzz/artifacts
    runnable=()
    for t in "${targets[@]}"; do
      if [ ! -e "tests/fuzz/$t.c" ]; then
        bad "$t: no fuzz target (tests/fuzz/$t.c does not exist)"
        continue
      fi
      runnable+=("$t")
    done
    # all targets in one build (both cores), then the fuzzers JOBS at a time (each is one
    # thread)
    cmake --build build-fuzz -j"$JOBS" --target "${runnable[@]}" || true
    ready=()
    for t in "${runnable[@]}"; do
      if [ ! -x "build-fuzz/$t" ]; then
        bad "$t: build failed (no binary build-fuzz/$t)"
        continue
      fi
      corpus="$TMP/corpus-$t"
      n="$(seed_corpus "$t" "$corpus")"
      echo "$n" >"$TMP/$t.seeds"
      # inputs that made this target fail before are seeds too (regressions show at once)
      old=0
      for a in build-fuzz/artifacts/"$t"-*; do
        [ -e "$a" ] || continue
        mv "$a" "$corpus/previous-$(basename "$a")"
        old=$((old + 1))
      done
      echo "$t: $n seed inputs, $old from earlier failures"
      ready+=("$t")
    done
    if [ "$FUZZ_SECONDS" -eq 0 ]; then limit=(-runs=0); else limit=(-max_total_time="$FUZZ_SECONDS"); fi
    run_fuzzer() { # target: exit status in $TMP/target.rc, output in $TMP/target.log
      local t="$1" rc=0
      timeout -k 10 $((FUZZ_SECONDS + 300)) "build-fuzz/$t" "${limit[@]}" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$ROOT/build-fuzz/artifacts/$t-" \
        "$TMP/corpus-$t" >"$TMP/$t.log" 2>&1 || rc=$?
      echo "$rc" >"$TMP/$t.rc"
    }
    banner "fuzz: ${#ready[@]} targets, ${FUZZ_SECONDS}s each, $JOBS at a time  [$(elapsed)]"
    k=0
    for t in "${ready[@]}"; do
      run_fuzzer "$t" &
      k=$((k + 1))
      if [ $((k % JOBS)) -eq 0 ]; then wait; fi
    done
    wait
    for t in "${ready[@]}"; do
      log="$TMP/$t.log"
      n="$(cat "$TMP/$t.seeds")"
      if [ "$(cat "$TMP/$t.rc" 2>/dev/null || echo 1)" = 0 ]; then
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' "$log" | sed "s/^/  $t: /"
        if [ "$FUZZ_SECONDS" -eq 0 ]; then ok "$t: $n seeds, no crash"; else ok "$t: ${FUZZ_SECONDS}s, no crash"; fi
      else
        echo "---- $t"
        tail -n 60 "$log"
        ls -1 build-fuzz/artifacts/ | grep "^$t-" | sed "s|^|  artifact: build-fuzz/artifacts/|" || true
        bad "$t: crashed or failed (see the log above)"
      fi
    done
  fi
else
  RESULTS+=("----  fuzz: not run (LT_STEPS)")
fi

# ---------------------------------------------------------------------------------------
# (d) lint

if wanted lint; then
  banner "lint  [$(elapsed)]"
  BANNED='\b(sprintf|strcpy|strcat|gets|atoi|atol)[[:space:]]*\('
  hits=""
  while IFS= read -r f; do
    # comments removed first (a comment may name a banned call)
    if gcc -fpreprocessed -dD -E -P "$f" 2>/dev/null | grep -Eq "$BANNED"; then
      hits+="$(grep -nE "$BANNED" "$f" | sed "s|^|$f:|")"$'\n'
    fi
  done < <(find src -type f \( -name '*.c' -o -name '*.h' \) | sort)
  if [ -z "$hits" ]; then
    ok "lint: no banned calls in src/"
  else
    printf '%s' "$hits"
    bad "lint: banned calls in src/ (use snprintf, memcpy with lengths, strtol/strtoull)"
  fi

  mapfile -t cfiles < <(find src tests bench -type f \( -name '*.c' -o -name '*.h' \) -not -path '*/node_modules/*' 2>/dev/null | sort)
  if ! command -v clang-format >/dev/null 2>&1; then
    bad "lint: clang-format not installed"
  elif [ "${#cfiles[@]}" -eq 0 ]; then
    bad "lint: no C sources found"
  elif clang-format --dry-run --Werror "${cfiles[@]}" >"$TMP/format.log" 2>&1; then
    ok "lint: clang-format clean (${#cfiles[@]} files)"
  else
    grep -E '^[^ ].*: error:' "$TMP/format.log" | cut -d: -f1 | sort | uniq -c | sed 's/^/  needs formatting: /'
    head -n 40 "$TMP/format.log"
    bad "lint: clang-format --dry-run --Werror (run clang-format -i on the files above)"
  fi
else
  RESULTS+=("----  lint: not run (LT_STEPS)")
fi

banner "summary  [$(elapsed)]"
printf '%s\n' "${RESULTS[@]}"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
