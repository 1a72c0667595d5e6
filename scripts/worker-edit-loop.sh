#!/usr/bin/env bash
# Measures the `wrangler dev` edit loop (docs/development.md): wrangler dev with this checkout's
# [build] (scripts/build-worker.sh, run by wrangler's watcher), then N edits of a log message
# in src/worker/mod.rs, each timed from the save until a request is answered by the new code
# (its first request logs the edited message).
#
#   bash scripts/worker-edit-loop.sh [EDITS]                        # the dev profile (default)
#   WORKER_PROFILE=release bash scripts/worker-edit-loop.sh [EDITS] # as before the dev profile
#
# The file is restored on exit, whatever happens. Loopback only: the sandbox portal and
# wrangler dev (local mode) on free ports, stopped on exit. Needs target/debug/b24-stock-gateway.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[edit-loop] %s\n' "$*" >&2; }
EDITS=${1:-3}
FILE=src/worker/mod.rs
MESSAGE='"gateway ready in this isolate"'
grep -qF "$MESSAGE" "$FILE" || { log "$FILE no longer logs $MESSAGE: update this script"; exit 1; }

bash scripts/install-worker-tools.sh >&2
# shellcheck source=/dev/null
source "${WORKER_TOOLS_DIR:-$ROOT/.tools}/worker-env.sh"
# shellcheck source=scripts/worker-dev.sh
source scripts/worker-dev.sh

BACKUP="$DEV_WORK/mod.rs.orig"
cp -p "$FILE" "$BACKUP"
# Restores get a new mtime, so build-worker.sh sees them and rebuilds.
finish() {
  local rc=$?
  cp "$BACKUP" "$FILE"
  dev_cleanup "$rc"
}
trap finish EXIT

dev_start_sandbox
# This checkout's own wrangler.toml, [build] and watcher as they are (wrangler's watcher did
# not fire for absolute watch_dir paths in a copied config); the sandbox's webhook from an env
# file, so no .dev.vars is written here.
dir="$DEV_WORK/loop.d"
mkdir -p "$dir"
printf 'B24_WEBHOOK_URL=http://127.0.0.1:%s/rest/1/%s/\n' "$SANDBOX_PORT" "$SANDBOX_CODE" >"$dir/webhook.env"
WORKER_PORT=$(free_port)
t0=$(dev_now)
PATH="$NODE22_BIN:$PATH" CI=true NO_COLOR=1 FORCE_COLOR=0 XDG_CONFIG_HOME="$dir/xdg" \
  "$NODE22_BIN/node" "$WRANGLER" dev --env-file "$dir/webhook.env" --local --ip 127.0.0.1 \
  --port "$WORKER_PORT" --inspector-port "$(free_port)" --persist-to "$dir/state" \
  --show-interactive-dev-session=false >"$DEV_WORK/loop.log" 2>&1 </dev/null &
WRANGLER_PID=$!
dev_wait_ok "http://127.0.0.1:$WORKER_PORT/healthz" 1200 "$WRANGLER_PID"
log "wrangler dev ready in $(dev_since "$t0") s (first build included)"
grep -o '\[build-worker\] built.*\|\[build-worker\] build/ is up to date.*' "$DEV_WORK/loop.log" | tail -n1 >&2 || true

builds() { grep -c '\[build-worker\] built' "$DEV_WORK/loop.log" || true; }
times=()
for i in $(seq "$EDITS"); do
  before=$(builds)
  marker="edit-loop $i.$RANDOM"
  sed -i "s|$MESSAGE|\"gateway ready in this isolate ($marker)\"|" "$FILE"
  t0=$(dev_now)
  deadline=$((SECONDS + 600))
  until grep -qF "($marker)" "$DEV_WORK/loop.log"; do
    ((SECONDS < deadline)) || { log "edit $i: the new code did not answer within 600 s"; exit 1; }
    kill -0 "$WRANGLER_PID" || { log "wrangler dev exited"; exit 1; }
    curl -fs -o /dev/null --max-time 5 "http://127.0.0.1:$WORKER_PORT/healthz" || true
    sleep 0.25
  done
  took=$(dev_since "$t0")
  times+=("$took")
  built=$(grep -o '\[build-worker\] built.*' "$DEV_WORK/loop.log" | tail -n1)
  log "edit $i: new code answering after $took s (${built#\[build-worker\] })"
  cp "$BACKUP" "$FILE"
  # Let the restore's own rebuild finish before the next edit.
  until (($(builds) >= before + 2)); do
    ((SECONDS < deadline)) || { log "the restore build did not finish"; exit 1; }
    sleep 0.5
  done
done
log "profile ${WORKER_PROFILE:-chosen by WRANGLER_COMMAND}: save to new code answering: ${times[*]} s"
