# Sourced by the scripts that test the local server from outside (test-sdk.sh, test-browser.sh):
# the sandbox portal and gateways on free loopback ports, stopped on exit whatever happens, with
# their logs shown when the caller failed. Needs ROOT and a `log` function.
#
#   local_start_sandbox PREFIX          -> SANDBOX_PORT, CODE (a fresh webhook code)
#   local_start_gateway NAME VAR=VALUE...   -> LOCAL_PORT (logs in $LOCAL_WORK/NAME.log)
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

# Our servers bind port 0 and say where they listen: no port is picked here and released for
# another process to take first.
local_logged_port() { # LOG SED-EXPRESSION: waits up to 10 s for the port the expression prints
  local port
  for _ in $(seq 200); do
    port=$(sed -nE "$2" "$1" | head -n 1)
    [[ -n "$port" ]] && { printf '%s\n' "$port"; return 0; }
    sleep 0.05
  done
  log "no listening address in $1"
  return 1
}

local_start_sandbox() { # PREFIX of the webhook code -> SANDBOX_PORT, CODE
  CODE="$1$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  SANDBOX_WEBHOOK_CODE=$CODE "$LOCAL_BIN" sandbox --listen 127.0.0.1:0 \
    --drain-per-sec 1000 --burst 100000 >"$LOCAL_WORK/sandbox.log" 2>&1 </dev/null &
  local_pids+=($!)
  SANDBOX_PORT=$(local_logged_port "$LOCAL_WORK/sandbox.log" \
    's#^webhook: http://127\.0\.0\.1:([0-9]+)/.*#\1#p')
  local_wait_ok "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health"
}

local_start_gateway() { # NAME VAR=VALUE... -> LOCAL_PORT: JSON logs, no per-caller limit
  local name=$1
  shift
  env -i PATH="$PATH" B24_WEBHOOK_URL="http://127.0.0.1:$SANDBOX_PORT/rest/1/$CODE/" \
    STOCK_RATE_LIMIT_PER_MIN=0 STOCK_LOG_FORMAT=json "$@" \
    "$LOCAL_BIN" serve --listen 127.0.0.1:0 >"$LOCAL_WORK/$name.log" 2>&1 </dev/null &
  local_pids+=($!)
  LOCAL_PORT=$(local_logged_port "$LOCAL_WORK/$name.log" \
    's#.*"message":"gateway listening","address":"127\.0\.0\.1:([0-9]+)".*#\1#p')
  local_wait_ok "http://127.0.0.1:$LOCAL_PORT/healthz"
}
