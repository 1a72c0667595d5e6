#!/usr/bin/env bash
# What sharing state through Redis (STOCK_SHARED_STATE) costs one replica, measured in one run
# on this machine against the same gateway without it:
#  1. a cache miss (every request a portal call, one connection): the Redis round trips it adds
#     (look, claim, the budget's slot, give the claim up) over the gateway alone;
#  2. cache hits (64 connections): they never leave the process, so the ratio should be ~1.
# Runs alternate (alone, shared, alone, shared) so that drift hits both. Loopback only; every
# load run is bounded by wrk's duration. Usage: bench/shared-state.sh [secs]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
bash scripts/install-redis.sh >/dev/null
cargo build --release --quiet --locked --bin b24-stock-gateway
BIN=target/release/b24-stock-gateway
OUT=bench-results; mkdir -p "$OUT"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
wait_up() { for _ in $(seq 200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "not up: $1" >&2; exit 1; }
summary() { python3 bench/wrk_summary.py; }

RP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning \
  >"$OUT/redis-$RP.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [ "$(redis-cli -p "$RP" ping 2>/dev/null)" = PONG ] && break; sleep 0.05; done

# A bucket that never fills and no operating-time cap: the runs measure the gateway.
SP=$(free_port)
SANDBOX_WEBHOOK_CODE=benchcode1234 RUST_LOG=warn "$BIN" sandbox --listen "127.0.0.1:$SP" \
  --drain-per-sec 1000000000 --burst 1000000000 >"$OUT/sandbox-$SP.log" 2>&1 &
pids+=($!); wait_up "http://127.0.0.1:$SP/_sandbox/health"
curl -fs -X POST -H 'content-type: application/json' -d '{"operatingCostSecs": 0}' \
  "http://127.0.0.1:$SP/_sandbox/control" >/dev/null

start_gateway() { # port env...
  local port=$1; shift
  env -i PATH="$PATH" RUST_LOG=warn STOCK_RATE_LIMIT_PER_MIN=0 STOCK_CALLER_PORTAL_WORK_PER_MIN=0 \
    STOCK_PORTAL_RATE_PER_SEC=10000 STOCK_PORTAL_BURST=1000000 \
    B24_WEBHOOK_URL="http://127.0.0.1:$SP/rest/1/benchcode1234/" "$@" \
    "$BIN" serve --listen "127.0.0.1:$port" >"$OUT/gateway-$port.log" 2>&1 &
  pids+=($!); wait_up "http://127.0.0.1:$port/healthz"
}
SHARED="STOCK_SHARED_STATE=redis://127.0.0.1:$RP"
AM=$(free_port); start_gateway "$AM" STOCK_CACHE_TTL_SECS=0
SM=$(free_port); start_gateway "$SM" STOCK_CACHE_TTL_SECS=0 "$SHARED"
AH=$(free_port); start_gateway "$AH" STOCK_CACHE_TTL_SECS=3600
SH=$(free_port); start_gateway "$SH" STOCK_CACHE_TTL_SECS=3600 "$SHARED"
for port in "$AM" "$SM" "$AH" "$SH"; do curl -fs "http://127.0.0.1:$port/v1/store-products/13" >/dev/null; done

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "misses: wrk -t1 -c1; hits: wrk -t2 -c64; ${DURATION}s each, alone and shared alternating twice"
runs=()
for round in 1 2; do
  runs+=("$(wrk -t1 -c1 -d"${DURATION}s" --latency "http://127.0.0.1:$AM/v1/store-products/13" | summary)")
  runs+=("$(wrk -t1 -c1 -d"${DURATION}s" --latency "http://127.0.0.1:$SM/v1/store-products/13" | summary)")
  runs+=("$(wrk -t2 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$AH/v1/store-products/13" | summary)")
  runs+=("$(wrk -t2 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$SH/v1/store-products/13" | summary)")
done
health=$(curl -fs "http://127.0.0.1:$SM/healthz")

python3 - "$health" "${runs[@]}" <<'PY'
import json, sys
health = json.loads(sys.argv[1])
runs = [json.loads(a) for a in sys.argv[2:]]
for run in runs:
    assert run.get("non2xx", 0) == 0, f"{run['non2xx']} answers were not 2xx: the run measured errors"
assert health.get("sharedState", {}).get("reachable") is True, f"Redis not in use: {health}"
print()
print("| measure | round 1 | round 2 |")
print("|---|---:|---:|")
rounds = [runs[0:4], runs[4:8]]
def row(label, f):
    print(f"| {label} | " + " | ".join(f(r) for r in rounds) + " |")
row("miss alone: p50 / p99", lambda r: f"{r[0]['p50']:.3f} / {r[0]['p99']:.3f} ms")
row("miss shared: p50 / p99", lambda r: f"{r[1]['p50']:.3f} / {r[1]['p99']:.3f} ms")
row("**Redis adds to a miss: p50 / p99**", lambda r: f"**{r[1]['p50'] - r[0]['p50']:+.3f} / {r[1]['p99'] - r[0]['p99']:+.3f} ms**")
row("hits alone: requests/s", lambda r: f"{r[2]['rps']:.0f}")
row("hits shared: requests/s", lambda r: f"{r[3]['rps']:.0f}")
row("**hits shared / alone**", lambda r: f"**{r[3]['rps'] / r[2]['rps']:.2f}**")
PY
