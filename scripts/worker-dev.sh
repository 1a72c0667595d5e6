# Sourced by scripts/test-worker.sh and bench/worker-bundle.sh: the sandbox portal and
# `wrangler dev` (local mode) on free loopback ports, stopped on exit whatever happens.
# Needs: ROOT, a `log` function, the tools env (worker-env.sh) sourced, target/debug/b24-stock-gateway.
#
#   dev_start_sandbox                 -> SANDBOX_PORT, SANDBOX_CODE, SANDBOX_PID
#   dev_start_wrangler VAR=VALUE ...  -> WORKER_PORT, WRANGLER_PID; logs in $DEV_WORK/wrangler.log
#                                        (minus wrangler's access lines) and wrangler-full.log
#   dev_wait_ok URL SECONDS PID
# The caller's EXIT trap calls `dev_cleanup "$status"`.

DEV_WORK="$(mktemp -d "${TMPDIR:-/tmp}/b24-worker-dev.XXXXXX")"
DEV_MAIN_PID=$BASHPID
SANDBOX_PID=""
WRANGLER_PID=""
# Copy the logs to this folder on exit (always when the caller failed).
DEV_KEEP_LOGS_IN=""

dev_now() { echo "${EPOCHREALTIME/,/.}"; }
dev_since() { awk -v a="$1" -v b="$(dev_now)" 'BEGIN { printf "%.1f", b - a }'; }

# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

# Polls URL until it answers 200 or SECONDS pass; fails early if PID dies.
dev_wait_ok() {
  local url=$1 seconds=$2 pid=$3 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { log "process $pid exited before $url was ready"; return 1; }
    sleep 0.25
  done
  log "$url not ready within ${seconds}s"
  return 1
}

# Waits until something listens on PORT (without sending it a request), up to SECONDS.
dev_wait_listening() {
  local port=$1 seconds=$2 pid=$3 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { log "process $pid exited before port $port opened"; return 1; }
    sleep 0.1
  done
  log "nothing listening on $port within ${seconds}s"
  return 1
}

dev_stop() { # PID: SIGTERM (node passes it on to workerd), up to 10 s, then SIGKILL
  local pid=$1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -KILL "$pid" 2>/dev/null || true
}

dev_cleanup() { # [EXIT_STATUS]
  local rc=${1:-$?}
  # Subshells (the log filter's process substitution) may run the EXIT trap too: only the
  # shell that started everything cleans up.
  [[ $BASHPID == "$DEV_MAIN_PID" ]] || return 0
  dev_stop "$WRANGLER_PID"
  dev_stop "$SANDBOX_PID"
  if [[ $rc -ne 0 && -f "$DEV_WORK/wrangler-full.log" ]]; then
    log "---- last 40 lines of the wrangler dev log ----"
    tail -n 40 "$DEV_WORK/wrangler-full.log" >&2 || true
  fi
  if [[ -n "$DEV_KEEP_LOGS_IN" || $rc -ne 0 ]]; then
    local keep="${DEV_KEEP_LOGS_IN:-$ROOT/target/worker-test}"
    mkdir -p "$keep"
    cp -f "$DEV_WORK"/*.log "$keep/" 2>/dev/null || true
    log "logs kept in ${keep#"$ROOT"/}/"
  fi
  rm -rf "$DEV_WORK"
  return $rc
}

# The gateway settings the contract suite expects (tests/contract.env) -> settings=(KEY=VALUE…)
dev_contract_settings() {
  settings=()
  local line
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] && continue
    settings+=("$line")
  done <"$ROOT/tests/contract.env"
}

# Knobs: DEV_SANDBOX_DRAIN, DEV_SANDBOX_BURST (the portal's bucket; default: never full),
# DEV_SANDBOX_RECORDS (a large generated catalogue besides the fixtures).
dev_start_sandbox() {
  SANDBOX_PORT=$(free_port)
  SANDBOX_CODE="wk$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')"
  SANDBOX_WEBHOOK_CODE="$SANDBOX_CODE" "$ROOT/target/debug/b24-stock-gateway" sandbox \
    --listen "127.0.0.1:$SANDBOX_PORT" --drain-per-sec "${DEV_SANDBOX_DRAIN:-1000}" \
    --burst "${DEV_SANDBOX_BURST:-100000}" ${DEV_SANDBOX_RECORDS:+--records "$DEV_SANDBOX_RECORDS"} \
    >"$DEV_WORK/sandbox.log" 2>&1 </dev/null &
  SANDBOX_PID=$!
  dev_wait_ok "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health" 20 "$SANDBOX_PID"
}

# wrangler dev's own access log (`[wrangler:info] GET /path 200 OK (3ms)`) echoes each inbound
# request path, including the contract suite's deliberate `/rest/1/x/...` probe, which the leak
# check would take for a portal path. Those lines are the dev server's, not the gateway's
# (nothing prints them in production, and wrangler has no switch to turn them off), so the log
# handed to the suite leaves exactly them out; wrangler-full.log keeps everything.
DEV_ACCESS_LINE='^\[wrangler:info\] [A-Z]+ /[^ ]* [0-9]{3} .*\([0-9]+ms\)$'

# Starts wrangler dev on the built worker with the sandbox webhook and VAR=VALUE settings.
# Knobs: DEV_NAME (log and config names, default wrangler), DEV_NO_SECRET=1 (no .dev.vars),
# DEV_RATE_LIMIT=N (the caller limit binding's limit instead of wrangler.toml's),
# DEV_NO_RATELIMITS=1 (no [[ratelimits]] binding at all).
dev_start_wrangler() {
  local name=${DEV_NAME:-wrangler}
  local dir="$DEV_WORK/$name.d"
  mkdir -p "$dir"
  # A copy of wrangler.toml without [build] (already built; no rebuild when someone edits src/
  # during the run), `main` pointing at this checkout's build/, the secret in a .dev.vars
  # next to it, and fresh local state (no Cache API entries from an earlier run).
  awk -v main="$ROOT/build/index.js" -v limit="${DEV_RATE_LIMIT:-}" \
    -v nolimit="${DEV_NO_RATELIMITS:-}" '
    /^\[/ { skip = ($0 == "[build]") || (nolimit != "" && $0 == "[[ratelimits]]"); callers = 0 }
    skip { next }
    /^name = "CALLER_RATE_LIMIT"/ { callers = 1 }
    /^main = / { print "main = \"" main "\""; next }
    limit != "" && callers && /^simple = / { sub(/limit = [0-9]+/, "limit = " limit) }
    { print }
  ' "$ROOT/wrangler.toml" >"$dir/wrangler.toml"
  if [[ -z "${DEV_NO_SECRET:-}" ]]; then
    printf 'B24_WEBHOOK_URL=http://127.0.0.1:%s/rest/1/%s/\n' "$SANDBOX_PORT" "$SANDBOX_CODE" \
      >"$dir/.dev.vars"
  fi
  local vars=() kv
  for kv in "$@"; do vars+=(--var "${kv%%=*}:${kv#*=}"); done
  WORKER_PORT=$(free_port)
  local inspector_port
  inspector_port=$(free_port)
  PATH="$NODE22_BIN:$PATH" CI=true NO_COLOR=1 FORCE_COLOR=0 XDG_CONFIG_HOME="$dir/xdg" \
    "$NODE22_BIN/node" "$WRANGLER" dev \
    --config "$dir/wrangler.toml" --local --ip 127.0.0.1 --port "$WORKER_PORT" \
    --inspector-port "$inspector_port" --persist-to "$dir/state" \
    --show-interactive-dev-session=false "${vars[@]}" \
    > >(tee "$DEV_WORK/$name-full.log" | grep --line-buffered -vE "$DEV_ACCESS_LINE" \
          >"$DEV_WORK/$name.log") \
    2>&1 </dev/null &
  WRANGLER_PID=$!
}
