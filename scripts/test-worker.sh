#!/usr/bin/env bash
# The Cloudflare Worker adapter, end to end on loopback:
#   1. pinned tools (scripts/install-worker-tools.sh) and the wasm build (scripts/build-worker.sh)
#   2. the sandbox portal on a free port, with a random webhook code
#   3. `wrangler dev` (local mode, workerd) with the settings of tests/contract.env and the
#      sandbox webhook as its secret (scripts/worker-dev.sh)
#   4. the shared contract suite, unchanged, against it (CONTRACT_BASE_URL, ..._LOG_FILE)
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
settings=()
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  settings+=("$line")
done <tests/contract.env
t=$(dev_now)
dev_start_wrangler "${settings[@]}"
dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
log "wrangler dev ready on 127.0.0.1:$WORKER_PORT in $(dev_since "$t")s"

# ---- 4. the contract suite --------------------------------------------------------------------
t=$(dev_now)
CONTRACT_BASE_URL="http://127.0.0.1:$WORKER_PORT" CONTRACT_WEBHOOK_CODE="$SANDBOX_CODE" \
  CONTRACT_LOG_FILE="$DEV_WORK/wrangler.log" \
  timeout 900 cargo test --locked --test contract
log "contract suite passed against wrangler dev in $(dev_since "$t")s"
