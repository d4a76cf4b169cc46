#!/usr/bin/env bash
# setup.sh — make a fresh Debian 12 machine ready for llmtrace and start it.
#
# Run as root from anywhere. Idempotent: installs only the Debian packages that are missing,
# (re)builds into build/, loads demo traces into a new store, then runs `llmtrace serve` in
# the foreground.
#
#   scripts/setup.sh               install what is missing, build, load demo data, serve
#   scripts/setup.sh --deps-only   install what is missing, nothing else (used by .ci/run)
#   scripts/setup.sh --no-serve    everything but the final serve
#
# Environment: LT_DATA (store directory, default ./llmtrace-data), LT_OTLP_HTTP (default
# 127.0.0.1:4318), LT_OTLP_GRPC (default 127.0.0.1:4317), LT_HTTP (default 127.0.0.1:16686),
# LT_FIXTURES (sample payloads, default ../shared/fixtures next to the repository).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEPS_ONLY=0
SERVE=1
for arg in "$@"; do
  case "$arg" in
    --deps-only) DEPS_ONLY=1 ;;
    --no-serve) SERVE=0 ;;
    -h|--help)
      sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }

# ---------------------------------------------------------------------------------------
# 1. Debian packages (only the missing ones; apt-get update only when something is missing)

PKGS=(build-essential cmake pkg-config libevent-dev libsqlite3-dev zlib1g-dev libjansson-dev
      libcurl4-openssl-dev libnghttp2-dev libyaml-dev libpcre2-dev libsnappy-dev libssl-dev libcmocka-dev clang libclang-rt-14-dev clang-format curl
      prometheus chromium clickhouse-server clickhouse-client)
# Node and npm often come preinstalled (not from Debian); Debian's nodejs would conflict.
if ! command -v node >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  say "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  say "all packages present"
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "setup.sh: node is installed but npm is not; install npm for the integration tests" >&2
  exit 1
fi

if [ "$DEPS_ONLY" -eq 1 ]; then
  say "dependencies ready"
  exit 0
fi

# ---------------------------------------------------------------------------------------
# 2. Build

say "building into build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target llmtrace
BIN="$ROOT/build/llmtrace"

DATA="${LT_DATA:-$ROOT/llmtrace-data}"
OTLP_HTTP="${LT_OTLP_HTTP:-127.0.0.1:4318}"
OTLP_GRPC="${LT_OTLP_GRPC:-127.0.0.1:4317}"
HTTP="${LT_HTTP:-127.0.0.1:16686}"
FIXTURES="${LT_FIXTURES:-$ROOT/../shared/fixtures}"

# ---------------------------------------------------------------------------------------
# 3. Demo data, only into a store that does not exist yet (so re-running adds nothing twice)

# Sends the sample payloads (captured from real instrumentation libraries) to a temporary
# server on free ports that writes into $DATA.
load_samples() {
  local dir="$FIXTURES/otlp"
  if [ ! -d "$dir" ]; then
    say "no sample payloads at $dir; starting with an empty store"
    return 0
  fi
  local out log pid line="" otlp n=0 failed=0 i
  out="$(mktemp)"
  log="$(mktemp)"
  "$BIN" serve --data "$DATA" --otlp-http 127.0.0.1:0 --http 127.0.0.1:0 --otlp-grpc off >"$out" 2>"$log" &
  pid=$!
  for ((i = 0; i < 300; i++)); do
    line="$(grep -m1 '^llmtrace listening ' "$out" || true)"
    [ -n "$line" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$line" ]; then
    kill "$pid" 2>/dev/null || true
    echo "setup.sh: the temporary server did not start: $(tail -n 5 "$log")" >&2
    rm -f "$out" "$log"
    return 1
  fi
  otlp="$(sed -n 's/.*otlp_http=\([^ ]*\).*/\1/p' <<<"$line")"
  # one scenario of each kind, from each library
  local scenarios=(otel/rag-proto otel/multi-agent-proto otel/errors-proto otel/streaming-json
                   openinference/rag traceloop/multi-agent langfuse/single-chat langfuse/errors)
  for sc in "${scenarios[@]}"; do
    for f in "$dir/$sc"/[0-9][0-9][0-9][0-9]-*; do
      local base ct signal
      base="$(basename "$f")"
      case "$base" in
        *.meta.json) continue ;;
        *.pb) ct=application/x-protobuf ;;
        *.json) ct=application/json ;;
        *) continue ;;
      esac
      signal="${base#*-}"
      signal="${signal%%.*}"
      if curl -fsS -o /dev/null -H "Content-Type: $ct" --data-binary "@$f" "http://$otlp/v1/$signal"; then
        n=$((n + 1))
      else
        failed=$((failed + 1))
      fi
    done
  done
  kill -TERM "$pid"
  wait "$pid" || true
  rm -f "$out" "$log"
  if [ "$failed" -gt 0 ]; then
    say "loaded $n sample payloads, $failed refused"
  else
    say "loaded $n sample payloads"
  fi
}

if [ -e "$DATA" ]; then
  say "store $DATA exists; not loading demo data again"
else
  say "loading the sample payloads into $DATA"
  load_samples
  # Hook: synthetic demo traces as well, where this build has the `demo` command.
  if "$BIN" demo --help >/dev/null 2>&1; then
    say "loading demo traces (llmtrace demo) into $DATA"
    "$BIN" demo --data "$DATA"
  else
    say "this build has no 'llmtrace demo'; skipped"
  fi
fi

if [ "$SERVE" -eq 0 ]; then
  say "ready: $BIN serve --data $DATA"
  exit 0
fi

# ---------------------------------------------------------------------------------------
# 4. Serve (foreground)

say "OTLP/HTTP receiver: http://$OTLP_HTTP  (OTEL_EXPORTER_OTLP_ENDPOINT=http://$OTLP_HTTP)"
say "OTLP/gRPC receiver: http://$OTLP_GRPC  (OTEL_EXPORTER_OTLP_PROTOCOL=grpc)"
say "JSON API:           http://$HTTP/api/traces"
say "CLI:                build/llmtrace traces --server http://$HTTP"
exec "$BIN" serve --data "$DATA" --otlp-http "$OTLP_HTTP" --otlp-grpc "$OTLP_GRPC" --http "$HTTP"
