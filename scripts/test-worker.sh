#!/usr/bin/env bash
# The Cloudflare Worker adapter, end to end on loopback:
#   1. pinned tools (scripts/install-worker-tools.sh) and the wasm build (scripts/build-worker.sh)
#   2. the sandbox portal on a free port, with a random webhook code
#   3. `wrangler dev` (local mode, workerd) with the settings of tests/contract.env and the
#      sandbox webhook as its secret (scripts/worker-dev.sh)
#   4. the shared contract suite, unchanged, against it (CONTRACT_BASE_URL, ..._LOG_FILE)
#   5. what only the Worker has (tests/worker_only.rs, a session each): concurrent misses for
#      one id all answer, the Cache API serves a repeat, the [[ratelimits]] binding refuses a
#      caller past its limit (and is off with STOCK_RATE_LIMIT_PER_MIN=0, in step 6), requests
#      that name no caller share one allowance, a missing secret or a bad log format answers
#      500 `misconfigured` with an error line
#   6. a storefront burst on the real bucket, metrics log lines, the refresh via wait_until
#   7. fair reads on the real bucket: shoppers beside an abusive caller, steady readers
#   8. mirror mode: the contract suite again, the object sweeping on its alarm
# Everything it starts is stopped on exit, whatever happens. Every wait has a bound.
#
# Env knobs: WORKER_READY_TIMEOUT (s, default 120), WORKER_KEEP_LOGS=1 keeps the logs (in
# target/worker-test/), WORKER_TOOLS_DIR (see scripts/install-worker-tools.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TERM_COLOR=never
log() { printf '[test-worker] %s\n' "$*" >&2; }
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
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
timeout 1200 cargo test --locked --no-run --quiet --test contract --test contract_bulk \
  --test worker_only --test storefront_burst --test fair_reads 2>/dev/null
log "sandbox binary and tests ready in $(dev_since "$t")s"

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

# ---- 5. Worker-only behaviour (tests/worker_only.rs, one wrangler dev session each) ---------
# worker_only NAME: one ignored test of tests/worker_only.rs against the running session.
worker_only() {
  WORKER_BASE_URL="http://127.0.0.1:$WORKER_PORT" WORKER_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" \
    WORKER_LOG_FILE="$DEV_WORK/${DEV_NAME:-wrangler}.log" run_one_test worker_only "$1"
}
t=$(dev_now)
worker_only concurrent_misses_for_one_id_all_answer_from_one_portal_call
log "concurrent misses for one id all answered from one portal call ($(dev_since "$t")s)"
dev_stop "$WRANGLER_PID"

# No per-isolate cache (STOCK_CACHE_MAX_ENTRIES=0): a repeat can only come from the Cache API.
# A per-caller limit on (the contract settings turn it off), so the binding decides.
t=$(dev_now)
export DEV_NAME=limited
DEV_RATE_LIMIT=3 dev_start_wrangler "${settings[@]}" STOCK_CACHE_MAX_ENTRIES=0 \
  STOCK_RATE_LIMIT_PER_MIN=600
dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
worker_only the_cache_api_serves_a_repeat_and_the_binding_limits_callers
log "Cache API serves a repeat; ratelimits binding: 3 pass, then 429 ($(dev_since "$t")s)"
dev_stop "$WRANGLER_PID"

# No binding, an in-process limit of 2 a minute: requests naming no caller share one allowance.
t=$(dev_now)
export DEV_NAME=unnamed
DEV_NO_RATELIMITS=1 dev_start_wrangler "${settings[@]}" STOCK_RATE_LIMIT_PER_MIN=2
dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
worker_only requests_without_a_caller_address_share_one_allowance
log "requests without a caller address share one allowance ($(dev_since "$t")s)"
dev_stop "$WRANGLER_PID"

# misconfigured_session NAME VAR=VALUE...: a session whose configuration the gateway refuses
# (it answers 500 misconfigured, so /healthz cannot tell when it is ready: wait for the port
# and wrangler's "Ready on" line).
misconfigured_session() {
  export DEV_NAME=$1
  shift
  dev_start_wrangler "${settings[@]}" "$@"
  dev_wait_listening "$WORKER_PORT" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
  for _ in $(seq 600); do grep -q 'Ready on' "$DEV_WORK/$DEV_NAME-full.log" && break; sleep 0.1; done
}
t=$(dev_now)
DEV_NO_SECRET=1 misconfigured_session unconfigured STOCK_LOG_FORMAT=json
worker_only a_missing_secret_is_a_500_and_a_json_error_line
dev_stop "$WRANGLER_PID"
# Log settings the native adapters refuse at start-up: refused here too (the Worker cannot stop).
misconfigured_session badlog STOCK_LOG_FORMAT=xml
worker_only log_settings_the_native_adapters_refuse_are_refused_too
dev_stop "$WRANGLER_PID"
# A misspelt variable (STOCK_ALLOWED_STORES without its S) would serve every warehouse.
misconfigured_session typo STOCK_ALLOWED_STORE=1
worker_only a_misspelt_variable_is_refused_naming_the_closest_known_one
log "broken configurations: 500 misconfigured, an error line names the variable ($(dev_since "$t")s)"
dev_stop "$WRANGLER_PID"

# ---- 6. a storefront burst against the portal's real bucket; stale-while-revalidate ----------
dev_stop "$SANDBOX_PID"
t=$(dev_now)
DEV_SANDBOX_DRAIN=2 DEV_SANDBOX_BURST=50 dev_start_sandbox
# Default settings (no warehouse filter, default budget share), a short TTL for the refresh.
# STOCK_RATE_LIMIT_PER_MIN=0 turns the binding off too: its limit of 3 would refuse the burst.
export DEV_NAME=burst
DEV_RATE_LIMIT=3 dev_start_wrangler STOCK_RATE_LIMIT_PER_MIN=0 STOCK_CACHE_TTL_SECS=2 \
  STOCK_METRICS_INTERVAL_SECS=0
dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
BURST_BASE_URL="http://127.0.0.1:$WORKER_PORT" BURST_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" \
  timeout 300 cargo test --locked --test storefront_burst -- --nocapture
worker_only metrics_are_logged_as_json_lines
log "storefront burst under wrangler dev passed, metrics logged ($(dev_since "$t")s)"
t=$(dev_now)
worker_only a_hit_near_its_end_is_refreshed_through_wait_until
log "stale-while-revalidate through ctx.wait_until ($(dev_since "$t")s)"

# ---- 7. fair reads on the real bucket (tests/fair_reads.rs), a fresh sandbox and session each:
# shoppers beside an abusive caller, fifty records read steadily. Every
# simulated caller sends its own CF-Connecting-IP; default settings (the coordinator on).
# (Shoppers alone are the same load without the abusive caller: the local suite runs them.)
for fair in shoppers_are_served_beside_an_abusive_caller \
  fifty_records_read_steadily_cost_a_few_portal_requests_a_minute; do
  dev_stop "$WRANGLER_PID"
  dev_stop "$SANDBOX_PID"
  t=$(dev_now)
  DEV_SANDBOX_DRAIN=2 DEV_SANDBOX_BURST=50 dev_start_sandbox
  export DEV_NAME=fair
  dev_start_wrangler STOCK_METRICS_INTERVAL_SECS=0
  dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
  FAIR_BASE_URL="http://127.0.0.1:$WORKER_PORT" FAIR_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" \
    FAIR_SECS="${WORKER_FAIR_SECS:-30}" run_one_test fair_reads "$fair"
  log "fair reads: $fair ($(dev_since "$t")s)"
done

# ---- 8. mirror mode (STOCK_SOURCE=mirror): the Durable Object sweeps on its alarm and keeps the
# table in its storage; isolates read through it. The contract suite again, where it applies.
dev_stop "$WRANGLER_PID"
dev_stop "$SANDBOX_PID"
t=$(dev_now)
dev_start_sandbox
export DEV_NAME=mirror
dev_start_wrangler "${settings[@]}" STOCK_SOURCE=mirror STOCK_MIRROR_INTERVAL_SECS=5
dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
for _ in $(seq 300); do
  curl -fsS --max-time 5 "http://127.0.0.1:$WORKER_PORT/healthz" | grep -q '"serving":"mirror"' && break
  sleep 0.1
done
curl -fsS --max-time 5 "http://127.0.0.1:$WORKER_PORT/healthz" | grep -q '"serving":"mirror"' \
  || { log "mirror: the first sweep did not finish within 30 s"; exit 1; }
CONTRACT_SOURCE=mirror CONTRACT_BASE_URL="http://127.0.0.1:$WORKER_PORT" \
  CONTRACT_WEBHOOK_CODE="$SANDBOX_CODE" CONTRACT_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" \
  CONTRACT_LOG_FILE="$DEV_WORK/mirror.log" \
  timeout 900 cargo test --locked --test contract --test contract_bulk
log "mirror mode: contract suite passed against wrangler dev ($(dev_since "$t")s)"
