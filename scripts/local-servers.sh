# Sourced by the scripts that test the local server from outside (test-sdk.sh, test-browser.sh):
# the sandbox portal and gateways on free loopback ports, stopped on exit whatever happens, with
# their logs shown when the caller failed. Needs ROOT and a `log` function.
#
#   local_start_sandbox PREFIX          -> SANDBOX_PORT, CODE (a fresh webhook code)
#   local_start_gateway NAME PORT VAR=VALUE...   (logs in $LOCAL_WORK/NAME.log)
#   free_port, local_wait_ok URL

timeout 1200 cargo build --locked --quiet --bin b24-stock-gateway
LOCAL_BIN="$ROOT/target/debug/b24-stock-gateway"
LOCAL_WORK="$(mktemp -d "${TMPDIR:-/tmp}/b24-local.XXXXXX")"
local_pids=()
local_cleanup() {
  local rc=$?
  for pid in "${local_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if ((rc != 0)); then
    for f in "$LOCAL_WORK"/*.log; do log "---- $(basename "$f") ----"; tail -n 20 "$f" >&2 || true; done
  fi
  rm -rf "$LOCAL_WORK"
}
trap local_cleanup EXIT

# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

local_wait_ok() { # URL, for up to 10 s
  for _ in $(seq 200); do curl -fs -o /dev/null --max-time 2 "$1" && return 0; sleep 0.05; done
  log "not ready: $1"
  return 1
}

local_start_sandbox() { # PREFIX of the webhook code
  SANDBOX_PORT=$(free_port)
  CODE="$1$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  SANDBOX_WEBHOOK_CODE=$CODE "$LOCAL_BIN" sandbox --listen "127.0.0.1:$SANDBOX_PORT" \
    --drain-per-sec 1000 --burst 100000 >"$LOCAL_WORK/sandbox.log" 2>&1 </dev/null &
  local_pids+=($!)
  local_wait_ok "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health"
}

local_start_gateway() { # NAME PORT VAR=VALUE...: JSON logs, no per-caller limit, the sandbox
  local name=$1 port=$2
  shift 2
  env -i PATH="$PATH" B24_WEBHOOK_URL="http://127.0.0.1:$SANDBOX_PORT/rest/1/$CODE/" \
    STOCK_RATE_LIMIT_PER_MIN=0 STOCK_LOG_FORMAT=json "$@" \
    "$LOCAL_BIN" serve --listen "127.0.0.1:$port" >"$LOCAL_WORK/$name.log" 2>&1 </dev/null &
  local_pids+=($!)
  local_wait_ok "http://127.0.0.1:$port/healthz"
}
