#!/usr/bin/env bash
# bench/run.sh — the measurements quoted in the README, reproducible with one command.
#
#   bench/run.sh [SECONDS] [--big]   (default 10 s per ingest run)
#
# 1. decode only, and decode + GenAI normalize: bench_decode over the realistic batch
#    fixtures (protobuf and JSON), with the memcpy baseline of the same bytes;
# 2. store only: bench_store (synthetic ~1 KB GenAI spans straight into the SQLite engine,
#    60% with a canonical view); the content store on an agent-style workload and on the
#    captured fixtures; with --big, 10 million spans over 24 hours and the GenAI summary
#    latency at that size (a few minutes);
# 3. end to end: a fresh `llmtrace serve` on a temporary store for every run, the same body
#    over OTLP/HTTP protobuf from 1 and 4 loopback clients (bench_ingest, one request in
#    flight per connection) and over OTLP/gRPC on 1 and 4 connections (bench_grpc, with 1
#    and with 4 calls in flight per connection), acknowledged only after commit; peak RSS
#    of the server from /proc;
# 4. acknowledgement latency (p50/p99 from when each request was due) at half the rate the
#    server sustains, over OTLP/HTTP and OTLP/gRPC, open loop; then OTLP/HTTP at ten times
#    that rate from 128 connections with the server's peak RSS;
# 5. the seed configuration (tests/data/config/seed.yaml: transform, tail sampling, span
#    metrics, an OTLP exporter to a second llmtrace, Prometheus remote write to a Prometheus
#    started here) against the same server without a configuration, in one run: OTLP/gRPC,
#    4 connections with 4 calls in flight each; the transform and redaction processors on
#    their own (bench_redact) and what tail sampling holds at num_traces = 50,000
#    (bench_tailsample);
# 6. the web UI in Chromium (tests/ui/perf.mjs): time to open a 10,000-span trace and a
#    1,000-trace search page, and the size of the embedded assets;
# 7. ClickHouse against SQLite, in one run, on a clickhouse-server (Debian's) started here on
#    a temporary directory: end-to-end ingest over OTLP/gRPC (4 connections x 4 calls, as in
#    5) into `serve --data` and into `serve --store clickhouse://...`; with --big, bench_store's
#    10 million spans over 24 hours into ClickHouse (in calls of 8192 spans, the batches the
#    server's ingest hands that engine) with trace-by-id and GenAI summary latency and bytes
#    per span on disk, beside the SQLite figures of the same run (section 2).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=10
big=0
for a in "$@"; do
    case "$a" in
        --big) big=1 ;;
        *) secs=$a ;;
    esac
done
fixtures=${LT_FIXTURES:-$here/../shared/fixtures}
build=$here/build
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
make -C "$build" -j2 llmtrace bench_decode bench_store bench_ingest bench_grpc bench_redact \
    bench_tailsample >/dev/null

echo "== decode only (one core)"
"$build/bench_decode" "$fixtures/otlp/otel/batch-proto/0002-traces.pb" \
    "$fixtures/otlp/openinference/batch/0001-traces.pb" \
    "$fixtures/otlp/traceloop/batch/0001-traces.pb" \
    "$fixtures/otlp/otel/batch-json/0002-traces.json" \
    "$fixtures/otlp/langfuse/batch/0001-traces.json"

echo "== store only"
"$build/bench_store" 1000000 100

echo "== content store: agent-style conversations (growing histories, repeated system prompts)"
"$build/bench_store" 200000 100 --agent --writes-only

echo "== content store: captured payloads, 200 rounds each"
shopt -s nullglob
for sc in openinference/batch openinference/multi-agent langfuse/multi-agent otel/batch-proto; do
    echo "-- $sc"
    files=("$fixtures/otlp/$sc"/*-traces.pb "$fixtures/otlp/$sc"/*-traces.json)
    "$build/bench_store" --replay=200 "${files[@]}"
done
shopt -u nullglob

big_sqlite=$(mktemp)
trap 'rm -f "$big_sqlite"' EXIT
if [ "$big" = 1 ]; then
    echo "== 10 million spans over 24 hours: trace by id, GenAI summary"
    "$build/bench_store" 10000000 100 --hours=24 --summary | tee "$big_sqlite"
fi

echo "== end to end: OTLP/HTTP protobuf and OTLP/gRPC -> SQLite, acknowledged after commit"
# one run: a fresh server, the load generator, the server's peak RSS and store size
run_e2e() { # body transport clients [streams]
    local body=$1 transport=$2 clients=$3 streams=${4:-1} data pid addr
    data=$(mktemp -d)
    "$build/llmtrace" serve --data "$data" --otlp-http 127.0.0.1:0 --http 127.0.0.1:0 \
        --otlp-grpc 127.0.0.1:0 >"$data/out" 2>"$data/err" &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$data/out" 2>/dev/null && break; sleep 0.05; done
    if [ "$transport" = http ]; then
        addr=$(sed -n 's/.*otlp_http=\([^ ]*\).*/\1/p' "$data/out")
        echo "-- $(basename "$(dirname "$body")")/$(basename "$body"), OTLP/HTTP, $clients connection(s)"
        "$build/bench_ingest" "$addr" "$body" "$clients" "$secs"
    else
        addr=$(sed -n 's/.*otlp_grpc=\([^ ]*\).*/\1/p' "$data/out")
        echo "-- $(basename "$(dirname "$body")")/$(basename "$body"), OTLP/gRPC, $clients connection(s), $streams call(s) in flight each"
        "$build/bench_grpc" "$addr" "$body" "$clients" "$secs" "$streams"
    fi
    echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)," \
         "store size: $(du -sh "$data" | cut -f1)"
    kill -TERM $pid
    wait $pid || true
    rm -rf "$data"
}
for body in "$fixtures/otlp/otel/batch-proto/0002-traces.pb" "$fixtures/otlp/openinference/batch/0001-traces.pb"; do
    for clients in 1 4; do
        run_e2e "$body" http "$clients"
        run_e2e "$body" grpc "$clients" 1
        run_e2e "$body" grpc "$clients" 4
    done
done

echo "== acknowledgement latency at 50% of the sustainable rate (open loop), and 10x overload"
# a fresh server on a temporary store; prints the listening line's addresses into globals
start_server() {
    sdata=$(mktemp -d)
    "$build/llmtrace" serve --data "$sdata" --otlp-http 127.0.0.1:0 --http 127.0.0.1:0 \
        --otlp-grpc 127.0.0.1:0 >"$sdata/out" 2>"$sdata/err" &
    spid=$!
    for _ in $(seq 100); do grep -q listening "$sdata/out" 2>/dev/null && break; sleep 0.05; done
    http_addr=$(sed -n 's/.*otlp_http=\([^ ]*\).*/\1/p' "$sdata/out")
    grpc_addr=$(sed -n 's/.*otlp_grpc=\([^ ]*\).*/\1/p' "$sdata/out")
}
stop_server() {
    kill -TERM "$spid"
    wait "$spid" || true
    rm -rf "$sdata"
}
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; } # field NAME < line
body=$fixtures/otlp/otel/batch-proto/0002-traces.pb
for transport in http grpc; do
    start_server
    if [ "$transport" = http ]; then
        full=$("$build/bench_ingest" "$http_addr" "$body" 4 "$secs")
        rps=$(echo "$full" | field requests_ok)
    else
        full=$("$build/bench_grpc" "$grpc_addr" "$body" 1 "$secs" 4)
        rps=$(echo "$full" | field calls_ok)
    fi
    half=$(awk -v n="$rps" -v s="$secs" 'BEGIN { printf "%.0f", n / s / 2 }')
    echo "-- OTLP/$transport: sustainable $(echo "$full" | field spans_per_s) spans/s; at 50% ($half requests/s):"
    if [ "$transport" = http ]; then
        "$build/bench_ingest" "$http_addr" "$body" 8 "$secs" --rate "$half"
    else
        "$build/bench_grpc" "$grpc_addr" "$body" 2 "$secs" 4 --rate "$half"
    fi
    stop_server
done
# 10x: SDK-sized batches (440 spans) from 128 connections; the server's peak RSS against
# its --max-memory (default 128 MiB)
start_server
full=$("$build/bench_ingest" "$http_addr" "$body" 4 "$secs" --repeat 2)
ten=$(awk -v n="$(echo "$full" | field requests_ok)" -v s="$secs" 'BEGIN { printf "%.0f", 10 * n / s }')
echo "-- OTLP/HTTP at 10x the sustainable $(echo "$full" | field spans_per_s) spans/s ($ten requests/s due), 128 connections:"
"$build/bench_ingest" "$http_addr" "$body" 128 "$secs" --repeat 2 --rate "$ten"
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$spid/status) (bound: --max-memory 128 MiB)"
stop_server

echo "== the seed configuration's pipeline on vs off (OTLP/gRPC, 4 connections x 4 calls)"
# the "jaeger": a second llmtrace; Prometheus with its remote write receiver
jdata=$(mktemp -d)
"$build/llmtrace" serve --data "$jdata" --otlp-http off --http 127.0.0.1:0 \
    --otlp-grpc 127.0.0.1:0 >"$jdata/out" 2>"$jdata/err" &
jpid=$!
for _ in $(seq 100); do grep -q listening "$jdata/out" 2>/dev/null && break; sleep 0.05; done
jaeger=$(sed -n 's/.*otlp_grpc=\([^ ]*\).*/\1/p' "$jdata/out")
pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pdata=$(mktemp -d)
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$pdata/prometheus.yml"
prometheus --config.file="$pdata/prometheus.yml" --storage.tsdb.path="$pdata/data" \
    --web.listen-address=127.0.0.1:"$pport" --web.enable-remote-write-receiver \
    --log.level=warn 2>"$pdata/err" &
ppid=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null && break; sleep 0.05; done
sed -e 's/127.0.0.1:4317/127.0.0.1:0/' -e "s/127.0.0.1:9090/127.0.0.1:$pport/" \
    -e "s/127.0.0.1:14317/$jaeger/" "$here/tests/data/config/seed.yaml" >"$pdata/seed.yaml"
# a fresh `llmtrace serve ARGS...` (its log in DIR), OTLP/gRPC from 4 connections with 4
# calls in flight each against it, its peak RSS
grpc_run() { # label dir serve-args...
    local label=$1 dir=$2 pid addr
    shift 2
    "$build/llmtrace" serve --http 127.0.0.1:0 "$@" >"$dir/out" 2>"$dir/err" &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.05; done
    addr=$(sed -n 's/.*otlp_grpc=\([^ ]*\).*/\1/p' "$dir/out")
    echo "-- $label"
    "$build/bench_grpc" "$addr" "$body" 4 "$secs" 4
    echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
    kill -TERM "$pid"
    wait "$pid" || true
}
for mode in off on; do
    sdata=$(mktemp -d)
    if [ "$mode" = on ]; then
        flags=(--config "$pdata/seed.yaml")
    else
        flags=(--otlp-http off --otlp-grpc 127.0.0.1:0)
    fi
    grpc_run "seed pipeline $mode" "$sdata" --data "$sdata" "${flags[@]}"
    grep -E "tail_sampling|exporter" "$sdata/err" || true
    rm -rf "$sdata"
done
kill -TERM "$jpid" "$ppid"
wait "$jpid" "$ppid" || true
rm -rf "$jdata" "$pdata"

echo "== transform and redaction alone (one thread)"
"$build/bench_redact" -t 3 "$body" "$fixtures/otlp/openinference/batch/0001-traces.pb"

echo "== tail sampling: memory at num_traces = 50,000"
"$build/bench_tailsample" -n 50000 "$body"
echo "-- with the default byte bound (64 MiB), OTel JS and OpenInference batches"
"$build/bench_tailsample" -n 50000 -m 67108864 "$body" "$fixtures/otlp/openinference/batch/0001-traces.pb"

echo "== the web UI in Chromium: a 10,000-span trace, a 1,000-trace search page, asset size"
(cd "$here/tests/ui" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
LLMTRACE_BIN="$build/llmtrace" node "$here/tests/ui/perf.mjs"

echo "== ClickHouse (Debian's clickhouse-server) against SQLite"
# a clickhouse-server on a temporary directory and free ports, as the tests start it
# (startClickHouse in tests/integration/lib.mjs): its HTTP port in ch_port; SIGTERM to
# chpid stops it and removes its directory
chdir=$(mktemp -d)
node --input-type=module -e "
  const l = await import('$here/tests/integration/lib.mjs');
  const ch = await l.startClickHouse();
  process.on('SIGTERM', async () => { await ch.destroy(); process.exit(0); });
  console.log(ch.httpPort);
" >"$chdir/port" &
chpid=$!
trap 'kill -TERM "$chpid" 2>/dev/null; rm -f "$big_sqlite"' EXIT
for _ in $(seq 600); do [ -s "$chdir/port" ] && break; kill -0 "$chpid" 2>/dev/null || break; sleep 0.1; done
ch_port=$(cat "$chdir/port")
[ -n "$ch_port" ] || { echo "clickhouse-server did not start" >&2; exit 1; }
ch_store() { echo "clickhouse://127.0.0.1:$ch_port/$1"; }
echo "-- ClickHouse $(curl -s "http://127.0.0.1:$ch_port/?query=SELECT%20version()")"
for engine in sqlite clickhouse; do
    sdata=$(mktemp -d)
    if [ "$engine" = sqlite ]; then store=(--data "$sdata"); else store=(--store "$(ch_store e2e)"); fi
    grpc_run "OTLP/gRPC into $engine, 4 connections x 4 calls in flight, acknowledged after the write" \
        "$sdata" "${store[@]}" --otlp-http off --otlp-grpc 127.0.0.1:0
    rm -rf "$sdata"
done
if [ "$big" = 1 ]; then
    echo "-- 10 million spans over 24 hours into ClickHouse, 8192 spans per write"
    "$build/bench_store" 10000000 8192 --hours=24 --summary --store="$(ch_store big)"
    echo "-- the same into SQLite, 100 spans per write (section 2 of this run)"
    grep -E 'spans/s|trace by id|genai_summary|bytes/span on disk' "$big_sqlite"
fi
kill -TERM "$chpid"
wait "$chpid" || true
rm -rf "$chdir"
