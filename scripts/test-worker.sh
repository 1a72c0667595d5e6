#!/usr/bin/env bash
# The Cloudflare Worker adapter, end to end on loopback:
#   1. pinned tools (scripts/install-worker-tools.sh) and the wasm build (scripts/build-worker.sh)
#   2. the sandbox portal on a free port, with a random webhook code
#   3. `wrangler dev` (local mode, workerd) with the settings of tests/contract.env and the
#      sandbox webhook as its secret (scripts/worker-dev.sh)
#   4. the shared contract suite, unchanged, against it (CONTRACT_BASE_URL, ..._LOG_FILE)
#   5. what only the Worker has: concurrent misses for one id all answer, the Cache API serves
#      a repeat, the [[ratelimits]] binding refuses a caller past its limit (and is off with
#      STOCK_RATE_LIMIT_PER_MIN=0, in step 6), a missing secret 500
#      `misconfigured` with an error line (JSON logs here) naming the variable
# Everything it starts is stopped on exit, whatever happens. Every wait has a bound.
#
# Env knobs: WORKER_READY_TIMEOUT (s, default 120), WORKER_KEEP_LOGS=1 keeps the logs (in
# target/worker-test/), WORKER_TOOLS_DIR (see scripts/install-worker-tools.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TERM_COLOR=never
log() { printf '[test-worker] %s\n' "$*" >&2; }
# shellcheck source=scripts/worker-dev.sh
source "$ROOT/scripts/worker-dev.sh"
T0=$(dev_now)
[[ -n "${WORKER_KEEP_LOGS:-}" ]] && DEV_KEEP_LOGS_IN="$ROOT/target/worker-test"
finish() {
  local rc=$?
  dev_cleanup "$rc" || true
  [[ $BASHPID == "$DEV_MAIN_PID" ]] || return 0
  log "$( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)") in $(dev_since "$T0")s"
}
trap finish EXIT
trap 'exit 130' INT TERM

# ---- 1. tools and build ---------------------------------------------------------------------
t=$(dev_now)
timeout 1800 bash scripts/install-worker-tools.sh >&2
log "tools ready in $(dev_since "$t")s"
# shellcheck source=/dev/null
source "${WORKER_TOOLS_DIR:-$ROOT/.tools}/worker-env.sh"
t=$(dev_now)
timeout 1200 bash scripts/build-worker.sh
log "worker built in $(dev_since "$t")s"
t=$(dev_now)
timeout 1200 cargo build --locked --quiet --bin b24-stock-gateway
log "sandbox binary ready in $(dev_since "$t")s"

# ---- 2. sandbox portal, 3. wrangler dev -------------------------------------------------------
dev_start_sandbox
dev_contract_settings
t=$(dev_now)
dev_start_wrangler "${settings[@]}"
dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
log "wrangler dev ready on 127.0.0.1:$WORKER_PORT in $(dev_since "$t")s"

# ---- 4. the contract suite --------------------------------------------------------------------
t=$(dev_now)
CONTRACT_BASE_URL="http://127.0.0.1:$WORKER_PORT" CONTRACT_WEBHOOK_CODE="$SANDBOX_CODE" \
  CONTRACT_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" CONTRACT_LOG_FILE="$DEV_WORK/wrangler.log" \
  timeout 900 cargo test --locked --test contract --test contract_bulk
log "contract suite passed against wrangler dev in $(dev_since "$t")s"

# ---- 5. Worker-only behaviour -----------------------------------------------------------------
status() { curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$@"; }
# Concurrent misses for one id share one portal call, and each request still answers from its
# own request context (waiters poll on their own timers: core::cache::Waiting::Polling); a slow
# portal (990001: 504 after the 1 s deadline) and a normal record.
t=$(dev_now)
pids=()
for id in 990001 276; do
  for n in $(seq 12); do
    status "http://127.0.0.1:$WORKER_PORT/v1/store-products/$id" >"$DEV_WORK/same-$id-$n.code" &
    pids+=($!)
  done
done
wait "${pids[@]}"   # only these: a bare `wait` would wait for the sandbox and wrangler too
codes=$(cat "$DEV_WORK"/same-990001-*.code | sort | uniq -c | xargs)
[[ "$codes" == "12 504" ]] || { log "12 concurrent misses for 990001: $codes"; exit 1; }
codes=$(cat "$DEV_WORK"/same-276-*.code | sort | uniq -c | xargs)
[[ "$codes" == "12 200" ]] || { log "12 concurrent misses for 276: $codes"; exit 1; }
calls=$(curl -s --max-time 10 "http://127.0.0.1:$SANDBOX_PORT/_sandbox/stats" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["getCallsById"].get("276", 0))')
[[ "$calls" == 1 ]] || { log "12 concurrent misses for 276 cost $calls portal calls, want 1"; exit 1; }
log "concurrent misses for one id all answered ($(dev_since "$t")s)"
dev_stop "$WRANGLER_PID"
t=$(dev_now)
# No per-isolate cache (STOCK_CACHE_MAX_ENTRIES=0): a repeat can only come from the Cache API.
# A per-caller limit on (the contract settings turn it off), so the binding decides.
DEV_NAME=limited DEV_RATE_LIMIT=3 dev_start_wrangler "${settings[@]}" STOCK_CACHE_MAX_ENTRIES=0 \
  STOCK_RATE_LIMIT_PER_MIN=600
dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
head_of() { curl -s -D - -o /dev/null --max-time 10 "$1" | tr -d '\r' | tr 'A-Z' 'a-z'; }
replies=()
for _ in 1 2 3 4; do replies+=("$(head_of "http://127.0.0.1:$WORKER_PORT/v1/store-products/13")"); done
expect() { # N PATTERN WHAT
  grep -qE "$2" <<<"${replies[$1]}" || { log "request $(($1 + 1)): $3; got: ${replies[$1]}"; exit 1; }
}
expect 0 '^http/1.1 200' "200"; expect 0 '^x-cache: miss' "x-cache: MISS"
expect 1 '^http/1.1 200' "200"; expect 1 '^x-cache: hit' "x-cache: HIT (Cache API)"
expect 1 '^age: [0-9]+' "an Age header"
# (/healthz never calls the limiter.)
expect 2 '^http/1.1 200' "200 (third of 3)"
expect 3 '^http/1.1 429' "429 from the ratelimits binding"; expect 3 '^retry-after: 60' "Retry-After: 60"
log "Cache API serves a repeat with no isolate cache; ratelimits binding: 3 pass, then 429 ($(dev_since "$t")s)"
dev_stop "$WRANGLER_PID"

t=$(dev_now)
DEV_NAME=unconfigured DEV_NO_SECRET=1 dev_start_wrangler "${settings[@]}" STOCK_LOG_FORMAT=json
dev_wait_listening "$WORKER_PORT" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
for _ in $(seq 600); do grep -q 'Ready on' "$DEV_WORK/unconfigured-full.log" && break; sleep 0.1; done
body=$(curl -s --max-time 10 "http://127.0.0.1:$WORKER_PORT/v1/store-products/13")
[[ "$body" == *'"code":"misconfigured"'* ]] || { log "no secret: got $body"; exit 1; }
# (STOCK_LOG_FORMAT=json here: the line is one JSON object.)
json_error_line() {
  grep -F '"level":"ERROR"' "$DEV_WORK/unconfigured.log" | grep -F '"message":"configuration problem' \
    | grep -F '"variable":"B24_WEBHOOK_URL"' >/dev/null
}
for _ in $(seq 30); do json_error_line && break; sleep 0.1; done
json_error_line || { log "no JSON error line naming B24_WEBHOOK_URL"; exit 1; }
log "missing secret: 500 misconfigured, a JSON error line names the variable ($(dev_since "$t")s)"
dev_stop "$WRANGLER_PID"
t=$(dev_now)
# Log settings the native adapters refuse at start-up: refused here too (the Worker cannot stop).
DEV_NAME=badlog dev_start_wrangler "${settings[@]}" STOCK_LOG_FORMAT=xml
dev_wait_listening "$WORKER_PORT" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
for _ in $(seq 600); do grep -q 'Ready on' "$DEV_WORK/badlog-full.log" && break; sleep 0.1; done
body=$(curl -s --max-time 10 "http://127.0.0.1:$WORKER_PORT/v1/store-products/13")
[[ "$body" == *'"code":"misconfigured"'* ]] || { log "STOCK_LOG_FORMAT=xml: got $body"; exit 1; }
for _ in $(seq 30); do grep -q 'variable=STOCK_LOG_FORMAT' "$DEV_WORK/badlog.log" && break; sleep 0.1; done
grep -q 'variable=STOCK_LOG_FORMAT' "$DEV_WORK/badlog.log" \
  || { log "no error line naming STOCK_LOG_FORMAT"; exit 1; }
log "STOCK_LOG_FORMAT=xml: 500 misconfigured, the error line names the variable ($(dev_since "$t")s)"

# ---- 6. a storefront burst against the portal's real bucket; stale-while-revalidate ----------
dev_stop "$WRANGLER_PID"
dev_stop "$SANDBOX_PID"
t=$(dev_now)
DEV_SANDBOX_DRAIN=2 DEV_SANDBOX_BURST=50 dev_start_sandbox
# Default settings (no warehouse filter, default budget share), a short TTL for the refresh.
# STOCK_RATE_LIMIT_PER_MIN=0 turns the binding off too: its limit of 3 would refuse the burst.
DEV_NAME=burst DEV_RATE_LIMIT=3 dev_start_wrangler STOCK_RATE_LIMIT_PER_MIN=0 STOCK_CACHE_TTL_SECS=2 \
  STOCK_METRICS_INTERVAL_SECS=0
dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
BURST_BASE_URL="http://127.0.0.1:$WORKER_PORT" BURST_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" \
  timeout 300 cargo test --locked --test storefront_burst -- --nocapture
log "storefront burst under wrangler dev passed ($(dev_since "$t")s)"
# Metrics as JSON log lines: the isolate's requests and cache results, the object's exchanges.
python3 - "$DEV_WORK/burst.log" <<'PY'
import json, sys
lines = []
for raw in open(sys.argv[1]):
    start = raw.find('{')
    if start >= 0 and '"message":"metrics"' in raw:
        lines.append(json.loads(raw[start:]))
requests = sum(n for line in lines for key, n in line["requests"].items() if key.startswith("v1.store_product "))
portal = sum(line["portal_requests"] for line in lines)
assert requests >= 250, f"the metrics lines count {requests} record requests, want >= 250"
assert portal >= 1, "no metrics line counts portal requests (the coordinator's)"
assert all("cache" in line and "portal_exchanges" in line for line in lines)
print(f"[test-worker] metrics lines: {len(lines)}, {requests} record requests, {portal} portal requests", file=sys.stderr)
PY
# A hit past 80 % of the TTL is answered at once and read again through ctx.wait_until.
t=$(dev_now)
get_calls() {
  curl -s --max-time 10 "http://127.0.0.1:$SANDBOX_PORT/_sandbox/stats" \
    | python3 -c "import json, sys; print(json.load(sys.stdin)['getCallsById'].get('$1', 0))"
}
cache_of() { curl -s -D - -o /dev/null --max-time 10 "$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache" {print $2}'; }
url="http://127.0.0.1:$WORKER_PORT/v1/store-products/299"
[[ "$(cache_of "$url")" == MISS ]] || { log "refresh: first read is not a miss"; exit 1; }
sleep 1.7
[[ "$(cache_of "$url")" == HIT ]] || { log "refresh: a read near the end is not a hit"; exit 1; }
for _ in $(seq 40); do [[ "$(get_calls 299)" == 2 ]] && break; sleep 0.05; done
[[ "$(get_calls 299)" == 2 ]] || { log "refresh: the record was not read again ($(get_calls 299) calls)"; exit 1; }
sleep 0.6
[[ "$(cache_of "$url")" == HIT ]] || { log "refresh: the refreshed answer is not served"; exit 1; }
log "stale-while-revalidate through ctx.wait_until ($(dev_since "$t")s)"
