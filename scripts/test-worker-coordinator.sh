#!/usr/bin/env bash
# The portal coordinator (a Durable Object) under `wrangler dev`, offline: one session runs a
# test-only router (tests/worker/router.js) in front of two gateway Workers, `gateway-a` (which
# defines the object) and `gateway-b` (bound to a's object), each with its own isolate state, all
# in front of one sandbox portal with the real bucket (burst 50, 2/s). Scenarios, each with a
# fresh sandbox and session:
#   on        coordinator on (wrangler.toml's settings): 400 reads of one cold id cost one portal
#             request; a 300-id burst stays within the budget, >= 99 % answered 200/404
#   off       STOCK_PORTAL_COORDINATOR=isolate, the whole budget each, no batching window: 80
#             full batches between the two isolates make the portal refuse (the setup can see
#             the problem)
#   on-nowin  the coordinator with no batching window: the same traffic never overspends
#   cut       gateway-b's binding points at no Worker: b answers on its fallback share
#   cut-both  both bindings point at no Worker: together they spend one fallback allowance
#   mirror    STOCK_SOURCE=mirror on both: one sweep per interval, both read the object's table
#   latency   a miss through the object next to a miss without it, in one run (a figure)
# The checks live in tests/worker_coordinator.rs (ignored unless run from here).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TERM_COLOR=never
log() { printf '[test-worker-coordinator] %s\n' "$*" >&2; }
# shellcheck source=scripts/worker-dev.sh
source "$ROOT/scripts/worker-dev.sh"
T0=$(dev_now)
finish() {
  local rc=$?
  dev_cleanup "$rc" || true
  [[ $BASHPID == "$DEV_MAIN_PID" ]] || return 0
  log "$( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)") in $(dev_since "$T0")s"
}
trap finish EXIT
trap 'exit 130' INT TERM

timeout 1800 bash scripts/install-worker-tools.sh >&2
# shellcheck source=/dev/null
source "${WORKER_TOOLS_DIR:-$ROOT/.tools}/worker-env.sh"
timeout 1200 bash scripts/build-worker.sh
timeout 1200 cargo build --locked --quiet --bin b24-stock-gateway
timeout 1200 cargo test --locked --no-run --quiet --test worker_coordinator 2>/dev/null

# gateway_config NAME BINDING_SCRIPT KEY=VALUE...: wrangler.toml as Worker NAME (no [build], this
# checkout's build/, the sandbox's webhook in .dev.vars, no per-caller limit to speak of), its
# [vars] overridden by KEY=VALUE. With BINDING_SCRIPT, the object binding points at that
# Worker's class instead of defining one.
gateway_config() {
  local name=$1 binding=$2
  shift 2
  local dir="$DEV_WORK/$name.d"
  mkdir -p "$dir"
  printf 'B24_WEBHOOK_URL=http://127.0.0.1:%s/rest/1/%s/\n' "$SANDBOX_PORT" "$SANDBOX_CODE" >"$dir/.dev.vars"
  python3 - "$ROOT/wrangler.toml" "$dir/wrangler.toml" "$name" "$ROOT/build/index.js" "$binding" \
    "${FALLBACK_LIMIT:-}" "$@" <<'PY'
import sys
source, target, name, main, binding, fallback_limit, *overrides = sys.argv[1:]
overrides = dict(kv.split("=", 1) for kv in overrides)
out, section, limiter = [], None, None
for line in open(source):
    stripped = line.strip()
    if stripped.startswith("name = ") and section == "[[ratelimits]]":
        limiter = stripped
    if stripped.startswith("["):
        section, limiter = stripped, None
        if section == "[vars]":
            out.append(line)
            out.extend(f'{k} = "{v}"\n' for k, v in overrides.items())
            continue
    if section in ("[build]", "[[migrations]]") and (binding or section == "[build]"):
        continue
    if stripped.startswith("name = ") and section is None:
        line = f'name = "{name}"\n'
    elif stripped.startswith("main = "):
        line = f'main = "{main}"\n'
    elif section == "[vars]" and stripped.split(" = ")[0] in overrides:
        continue
    elif stripped.startswith("simple = ") and limiter == 'name = "PORTAL_FALLBACK"' and fallback_limit:
        line = f"simple = {{ limit = {fallback_limit}, period = 60 }}\n"
    elif stripped.startswith("simple = ") and limiter == 'name = "CALLER_RATE_LIMIT"':
        # These tests flood from one address: the per-caller limit is not what they measure.
        line = "simple = { limit = 1000000, period = 60 }\n"
    elif binding and stripped.startswith("bindings = [{ name = \"PORTAL_COORDINATOR\""):
        line = ('bindings = [{ name = "PORTAL_COORDINATOR", class_name = "PortalCoordinator", '
                f'script_name = "{binding}" }}]\n')
    out.append(line)
open(target, "w").write("".join(out))
PY
}

# session NAME B_BINDING KEY=VALUE...: a fresh sandbox (real bucket) and a router + a + b session;
# B_VARS (KEY=VALUE words) adds settings for gateway-b only.
session() {
  local name=$1 b_binding=$2
  shift 2
  dev_stop "$WRANGLER_PID"
  dev_stop "$SANDBOX_PID"
  DEV_SANDBOX_DRAIN=2 DEV_SANDBOX_BURST=50 dev_start_sandbox
  # The tests are one caller: no per-caller limits, which would stop them before the budget.
  local callers=(STOCK_RATE_LIMIT_PER_MIN=0 STOCK_CALLER_PORTAL_WORK_PER_MIN=0)
  gateway_config gateway-a "${A_BINDING:-}" "${callers[@]}" "$@"
  # shellcheck disable=SC2086
  gateway_config gateway-b "$b_binding" "${callers[@]}" "$@" ${B_VARS:-}
  local router="$DEV_WORK/router.toml"
  cat >"$router" <<TOML
name = "router"
main = "$ROOT/tests/worker/router.js"
compatibility_date = "2026-11-01"
services = [{ binding = "A", service = "gateway-a" }, { binding = "B", service = "gateway-b" }]
TOML
  WORKER_PORT=$(free_port)
  local inspector_port
  inspector_port=$(free_port)
  PATH="$NODE22_BIN:$PATH" CI=true NO_COLOR=1 FORCE_COLOR=0 XDG_CONFIG_HOME="$DEV_WORK/$name-xdg" \
    "$NODE22_BIN/node" "$WRANGLER" dev -c "$router" -c "$DEV_WORK/gateway-a.d/wrangler.toml" \
    -c "$DEV_WORK/gateway-b.d/wrangler.toml" --local --ip 127.0.0.1 --port "$WORKER_PORT" \
    --inspector-port "$inspector_port" --persist-to "$DEV_WORK/$name-state" \
    --show-interactive-dev-session=false >"$DEV_WORK/$name.log" 2>&1 </dev/null &
  WRANGLER_PID=$!
  dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" "${WORKER_READY_TIMEOUT:-120}" "$WRANGLER_PID"
}

check() { # TEST_NAME: one ignored test of tests/worker_coordinator.rs against this session
  COORD_BASE_URL="http://127.0.0.1:$WORKER_PORT" COORD_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" \
    run_one_test worker_coordinator "$1"
}

t=$(dev_now); session on gateway-a
check one_cold_id_split_across_isolates_is_read_once
check a_burst_split_across_isolates_stays_within_the_budget
log "coordinator on: one flight per id, one budget ($(dev_since "$t")s)"

# Each isolate on its own spends the whole share it is given: the plan's whole budget here, so
# two of them together are sure to pass the portal's (however slowly wrangler dev lets the
# requests through).
t=$(dev_now); session off gateway-a STOCK_PORTAL_COORDINATOR=isolate STOCK_BATCH_WINDOW_MS=0 \
  STOCK_PORTAL_BUDGET_SHARE=1
check without_a_coordinator_two_isolates_overspend
log "coordinator off: the portal refuses, as expected ($(dev_since "$t")s)"

t=$(dev_now); session on-nowin gateway-a STOCK_BATCH_WINDOW_MS=0
check with_a_coordinator_the_same_traffic_never_overspends
log "coordinator on, no batching window: the portal never refuses ($(dev_since "$t")s)"

t=$(dev_now); session cut gateway-nowhere
check an_unreachable_coordinator_leaves_a_small_share
grep -q 'portal coordinator unreachable' "$DEV_WORK/cut.log" \
  || { log "no warning about the unreachable coordinator"; exit 1; }
log "coordinator unreachable: fallback share, warning logged ($(dev_since "$t")s)"

# Both Workers cut off, the shared fallback allowance set to 4 a minute (each isolate's own
# share alone would allow 5): together they spend no more than the allowance.
t=$(dev_now); A_BINDING=gateway-nowhere FALLBACK_LIMIT=4 session cut-both gateway-nowhere
check cut_off_isolates_together_spend_one_fallback_allowance
log "both coordinators unreachable: one fallback allowance for the deployment ($(dev_since "$t")s)"

# Mirror mode on both Workers: one sweep per interval for the deployment.
t=$(dev_now); session mirror gateway-a STOCK_SOURCE=mirror STOCK_MIRROR_INTERVAL_SECS=5
check two_workers_share_one_sweep
log "mirror mode: two Workers share one sweep ($(dev_since "$t")s)"

t=$(dev_now); B_VARS="STOCK_PORTAL_COORDINATOR=isolate" session latency gateway-a
check a_miss_through_the_coordinator_next_to_one_without
log "latency figure measured ($(dev_since "$t")s)"
