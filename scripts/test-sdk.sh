#!/usr/bin/env bash
# Published Bitrix24 client libraries against the gateway, as a new user would point them at it:
# fast_bitrix24 and b24pysdk (PyPI) and @bitrix24/b24jssdk (npm), pinned in tests/sdk/. Each does
# a single catalog.storeproduct.get and a batch through the webhook-shaped URL
# http://127.0.0.1:PORT/rest/0/public/, in front of the sandbox portal.
#
# Installs into .tools/sdk-venv and tests/sdk/js/node_modules (both git-ignored; reruns reuse
# them). Starts the sandbox and the local server on free loopback ports and stops them on exit.
# Every step is bounded.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[test-sdk] %s\n' "$*" >&2; }
TOOLS="${SDK_TOOLS_DIR:-$ROOT/.tools}"
VENV="$TOOLS/sdk-venv"
REQUIREMENTS=tests/sdk/python/requirements.txt

# ---- 1. the libraries, pinned ------------------------------------------------------------------
mkdir -p "$TOOLS"
if ! cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt" 2>/dev/null; then
  rm -rf "$VENV"
  timeout 120 python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
  log "python libraries installed"
fi
if ! cmp -s tests/sdk/js/package-lock.json tests/sdk/js/node_modules/.installed-lock.json 2>/dev/null; then
  (cd tests/sdk/js && timeout 600 npm ci --no-audit --no-fund --loglevel=error)
  cp tests/sdk/js/package-lock.json tests/sdk/js/node_modules/.installed-lock.json
  log "npm libraries installed"
fi

# ---- 2. sandbox portal and gateway ---------------------------------------------------------------
timeout 1200 cargo build --locked --quiet --bin b24-stock-gateway
BIN="$ROOT/target/debug/b24-stock-gateway"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/b24-sdk.XXXXXX")"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if ((rc != 0)); then
    for f in "$WORK"/*.log; do log "---- $(basename "$f") ----"; tail -n 20 "$f" >&2 || true; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() { # URL
  for _ in $(seq 200); do curl -fs -o /dev/null --max-time 2 "$1" && return 0; sleep 0.05; done
  log "not ready: $1"; return 1
}
SANDBOX_PORT=$(free_port)
CODE="sdk$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
SANDBOX_WEBHOOK_CODE=$CODE "$BIN" sandbox --listen "127.0.0.1:$SANDBOX_PORT" \
  --drain-per-sec 1000 --burst 100000 >"$WORK/sandbox.log" 2>&1 </dev/null &
pids+=($!)
wait_ok "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health"
GATEWAY_PORT=$(free_port)
env -i PATH="$PATH" B24_WEBHOOK_URL="http://127.0.0.1:$SANDBOX_PORT/rest/1/$CODE/" \
  STOCK_RATE_LIMIT_PER_MIN=0 STOCK_LOG_FORMAT=json \
  "$BIN" serve --listen "127.0.0.1:$GATEWAY_PORT" >"$WORK/gateway.log" 2>&1 </dev/null &
pids+=($!)
wait_ok "http://127.0.0.1:$GATEWAY_PORT/healthz"

# ---- 3. the libraries against it -----------------------------------------------------------------
export GATEWAY_WEBHOOK="http://127.0.0.1:$GATEWAY_PORT/rest/0/public/"
timeout 180 "$VENV/bin/python" tests/sdk/python/sdk_test.py
(cd tests/sdk/js && timeout 120 node sdk_test.mjs)
# The libraries reached the portal only through the gateway, and the gateway never logged
# the webhook.
if grep -qF "$CODE" "$WORK/gateway.log"; then log "the gateway log shows the webhook code"; exit 1; fi
log "published Bitrix24 clients work against the gateway"
