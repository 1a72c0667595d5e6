#!/usr/bin/env bash
# Mirror mode (STOCK_SOURCE=mirror) with 100,000 records, all measured in one run on this machine:
#  1. one sweep at the default budget (0.8 of a standard plan) against the sandbox's real bucket
#     (2/s, burst 50): its portal requests, wall time, and the gateway's CPU time from its start
#     to the table (reading, parsing and building it), per 2,500 rows (one portal answer);
#  2. memory per record: the RSS of a mirror gateway holding 100,000 records minus that of one
#     holding the sandbox's small catalogue (an "empty" gateway), after the same load;
#  3. hit throughput in mirror mode against a bare hyper server (ratio), for one id and for ids
#     spread over the whole table (the hello gets the same wrk script: generating requests in
#     Lua costs wrk, on the same cores, a share of its own); on-demand cache hits in the same
#     run for comparison.
# Loopback only; every load run is bounded by wrk's duration, every wait by a deadline.
# Usage: bench/mirror.sh [secs]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
RECORDS=100000
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --locked --bin b24-stock-gateway --example hello_hyper
BIN=target/release/b24-stock-gateway
HELLO=target/release/examples/hello_hyper
OUT=bench-results; mkdir -p "$OUT"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
wait_up() { for _ in $(seq 200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "not up: $1" >&2; exit 1; }
summary() { python3 bench/wrk_summary.py; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# The sandbox's counters this script reads (its whole stats outgrow a command-line argument).
portal_stats() {
  curl -fs "http://127.0.0.1:$1/_sandbox/stats" | python3 -c \
    'import json, sys; s = json.load(sys.stdin); print(json.dumps({k: s[k] for k in ("requests", "queryLimitExceeded")}))'
}
# cpu_ms PID: user + system CPU time the process has used, in ms.
cpu_ms() { awk -v tck="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / tck}' "/proc/$1/stat"; }

start_sandbox() { # port records
  SANDBOX_WEBHOOK_CODE=benchcode1234 RUST_LOG=warn "$BIN" sandbox --listen "127.0.0.1:$1" \
    --drain-per-sec 2 --burst 50 --records "$2" >"$OUT/mirror-sandbox-$1.log" 2>&1 &
  pids+=($!); wait_up "http://127.0.0.1:$1/_sandbox/health"
}
# start_gateway PORT SANDBOX_PORT ENV...: sets GATEWAY_PID.
start_gateway() {
  local port=$1 sport=$2; shift 2
  # wrk sends everything from one address: no per-caller limit in a bench.
  env -i PATH="$PATH" RUST_LOG=warn STOCK_RATE_LIMIT_PER_MIN=0 STOCK_CALLER_PORTAL_WORK_PER_MIN=0 \
    B24_WEBHOOK_URL="http://127.0.0.1:$sport/rest/1/benchcode1234/" "$@" \
    "$BIN" serve --listen "127.0.0.1:$port" >"$OUT/mirror-gateway-$port.log" 2>&1 &
  GATEWAY_PID=$!
  pids+=("$GATEWAY_PID"); wait_up "http://127.0.0.1:$port/healthz"
}
# wait_mirror PORT SECONDS: until the gateway serves from its table; prints its /healthz.
wait_mirror() {
  local deadline=$((SECONDS + $2)) health
  while [ "$SECONDS" -lt "$deadline" ]; do
    health=$(curl -fs "http://127.0.0.1:$1/healthz" || true)
    if grep -q '"serving":"mirror"' <<<"$health"; then echo "$health"; return 0; fi
    sleep 0.2
  done
  echo "no table after $2 s on $1" >&2; exit 1
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load: wrk -t2 -c64 -d${DURATION}s on loopback; the servers share the same cores with wrk"

# 1. One sweep of 100,000 records at the default share, against the real bucket.
BIG=$(free_port); start_sandbox "$BIG" "$RECORDS"
SMALL=$(free_port); start_sandbox "$SMALL" 0
MP=$(free_port); start_gateway "$MP" "$BIG" STOCK_SOURCE=mirror STOCK_MIRROR_INTERVAL_SECS=3600
MIRROR_PID=$GATEWAY_PID
EP=$(free_port); start_gateway "$EP" "$SMALL" STOCK_SOURCE=mirror STOCK_MIRROR_INTERVAL_SECS=3600
EMPTY_PID=$GATEWAY_PID
swept=$(wait_mirror "$MP" 300)
cpu_swept=$(cpu_ms "$MIRROR_PID")
wait_mirror "$EP" 60 >/dev/null
rss_swept=$(rss_kib "$MIRROR_PID"); rss_empty_swept=$(rss_kib "$EMPTY_PID")

# 3. Hits: hello, the mirror (one id; ids over the whole table), on-demand cache hits.
HP=$(free_port); "$HELLO" "127.0.0.1:$HP" >/dev/null 2>&1 & pids+=($!); wait_up "http://127.0.0.1:$HP/"
OP=$(free_port); start_gateway "$OP" "$BIG" STOCK_CACHE_TTL_SECS=3600
curl -fs "http://127.0.0.1:$OP/v1/store-products/13" >/dev/null
before=$(portal_stats "$BIG")
hello=$(wrk -t2 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$HP/" | summary)
mirror_one=$(wrk -t2 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$MP/v1/store-products/13" | summary)
hello_spread=$(wrk -t2 -c64 -d"${DURATION}s" --latency -s bench/mirror-ids.lua "http://127.0.0.1:$HP" | summary)
mirror_spread=$(wrk -t2 -c64 -d"${DURATION}s" --latency -s bench/mirror-ids.lua "http://127.0.0.1:$MP" | summary)
on_demand=$(wrk -t2 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$OP/v1/store-products/13" | summary)
# The same load on the small mirror, so both hold what the load leaves behind.
wrk -t2 -c64 -d"${DURATION}s" -s bench/mirror-ids.lua "http://127.0.0.1:$EP" >/dev/null
wrk -t2 -c64 -d"${DURATION}s" "http://127.0.0.1:$EP/v1/store-products/13" >/dev/null
rss_loaded=$(rss_kib "$MIRROR_PID"); rss_empty_loaded=$(rss_kib "$EMPTY_PID")
after=$(portal_stats "$BIG")
health=$(curl -fs "http://127.0.0.1:$MP/healthz")

python3 - "$swept" "$health" "$before" "$after" "$hello" "$hello_spread" "$mirror_one" \
  "$mirror_spread" "$on_demand" "$rss_swept" "$rss_empty_swept" "$rss_loaded" "$rss_empty_loaded" \
  "$cpu_swept" <<'PY'
import json, sys
swept, health, before, after, hello, hello_spread, one, spread, on_demand = (
    json.loads(a) for a in sys.argv[1:10])
rss_swept, rss_empty_swept, rss_loaded, rss_empty_loaded = (int(a) * 1024 for a in sys.argv[10:14])
cpu_swept_ms = float(sys.argv[14])
mirror = swept["mirror"]
rows = mirror["rows"]
print()
print("| measure | value |")
print("|---|---|")
print(f"| records in the table | {rows:,} |")
print(f"| **portal requests per sweep (goal <= 45)** | **{mirror['lastSweepPortalRequests']}** |")
print(f"| **one sweep's wall time at the 0.8 share (1.6 requests/s)** | **{mirror['lastSweepSecs']:.1f} s** |")
print(f"| **gateway CPU time from start to the table, per 2,500 rows** | **{cpu_swept_ms * 2500 / rows:.1f} ms** ({cpu_swept_ms:.0f} ms for {rows:,} rows) |")
print(f"| portal refusals (QUERY_LIMIT_EXCEEDED) | {after['queryLimitExceeded']} |")
reads = after["requests"] - before["requests"]
print(f"| portal requests during the hit runs | {reads} |")
print(f"| RSS after the first sweep: 100,000 records / small catalogue | {rss_swept / 2**20:.1f} MiB / {rss_empty_swept / 2**20:.1f} MiB |")
print(f"| RSS after the hit runs: 100,000 records / small catalogue | {rss_loaded / 2**20:.1f} MiB / {rss_empty_loaded / 2**20:.1f} MiB |")
print(f"| **memory per record above the small gateway, after the sweep (goal <= 100 B)** | **{(rss_swept - rss_empty_swept) / rows:.0f} B** |")
print(f"| memory per record above the small gateway, after the hit runs | {(rss_loaded - rss_empty_loaded) / rows:.0f} B |")
print(f"| bare hyper hello: requests/s, p99 | {hello['rps']:.0f}, {hello['p99']:.3f} ms |")
print(f"| mirror hit, one id: requests/s, p99 | {one['rps']:.0f}, {one['p99']:.3f} ms |")
print(f"| bare hyper hello, the same wrk script: requests/s, p99 | {hello_spread['rps']:.0f}, {hello_spread['p99']:.3f} ms |")
print(f"| mirror hit, ids over the whole table: requests/s, p99 | {spread['rps']:.0f}, {spread['p99']:.3f} ms |")
print(f"| on-demand cache hit, one id: requests/s, p99 | {on_demand['rps']:.0f}, {on_demand['p99']:.3f} ms |")
print(f"| **mirror hits / hello, one id (goal >= 0.9)** | **{one['rps'] / hello['rps']:.2f}** |")
print(f"| **mirror hits / hello, ids over the table (goal >= 0.9)** | **{spread['rps'] / hello_spread['rps']:.2f}** |")
print(f"| mirror hits / on-demand hits, one id | {one['rps'] / on_demand['rps']:.2f} |")
statuses = spread["statuses"]
print(f"| ids over the table: answers by status | {', '.join(f'{k}: {v}' for k, v in sorted(statuses.items()))} |")
for name, run in (("hello", hello), ("mirror one", one), ("on demand", on_demand)):
    assert run.get("non2xx", 0) == 0, f"{name}: {run['non2xx']} answers were not 2xx"
assert set(statuses) <= {"200", "404"}, f"spread: {statuses}"
assert health["mirror"]["sweeps"] == 1 and reads == 0, "hits reached the portal"
per_record = (rss_swept - rss_empty_swept) / rows
print()
for name, ratio in (("one id", one["rps"] / hello["rps"]), ("ids over the table", spread["rps"] / hello_spread["rps"])):
    print(f"goal: mirror hits >= 0.9x bare hyper, {name}: {'met' if ratio >= 0.9 else 'MISSED'} ({ratio:.2f}x)")
print(f"goal: <= 100 B per record: {'met' if per_record <= 100 else 'MISSED'} ({per_record:.0f} B)")
print(f"sweep CPU per 2,500 rows (reported, no goal): {cpu_swept_ms * 2500 / rows:.1f} ms")
PY
