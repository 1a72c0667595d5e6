#!/usr/bin/env bash
# The <b24-stock> badge in a real browser: Debian's headless Chromium (/usr/bin/chromium),
# driven by playwright-core pinned in tests/browser/ (it downloads no browser), against local
# servers on loopback:
#   - the sandbox portal;
#   - a gateway with exact figures and the demo page, allowing the shop origin below;
#   - a gateway with STOCK_EXPOSE=level and a 2 s cache lifetime, allowing it too;
#   - a shop's page server on two ports: one allowed origin, one that is not.
# Installs what it needs (idempotent: apt only when Chromium is missing, npm only when the
# lock changed), stops everything it started on exit, and bounds every step. The demo page's
# screenshot lands in target/browser/demo.png.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[test-browser] %s\n' "$*" >&2; }
export CARGO_TERM_COLOR=never

# ---- 1. Chromium (Debian) and playwright-core (npm), pinned ---------------------------------
if [[ ! -x /usr/bin/chromium ]]; then
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq
  timeout 600 apt-get install -y -qq chromium >/dev/null
  log "chromium installed"
fi
/usr/bin/chromium --version 2>/dev/null >&2
if ! cmp -s tests/browser/package-lock.json tests/browser/node_modules/.installed-lock.json 2>/dev/null; then
  (cd tests/browser && timeout 300 npm ci --no-audit --no-fund --loglevel=error)
  cp tests/browser/package-lock.json tests/browser/node_modules/.installed-lock.json
  log "playwright-core installed"
fi

# ---- 2. sandbox, gateways, page server -----------------------------------------------------
timeout 1200 cargo build --locked --quiet --bin b24-stock-gateway
BIN="$ROOT/target/debug/b24-stock-gateway"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/b24-browser.XXXXXX")"
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
CODE="br$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
SANDBOX_WEBHOOK_CODE=$CODE "$BIN" sandbox --listen "127.0.0.1:$SANDBOX_PORT" \
  --drain-per-sec 1000 --burst 100000 >"$WORK/sandbox.log" 2>&1 </dev/null &
pids+=($!)
wait_ok "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health"

SHOP_PORT=$(free_port)
OTHER_PORT=$(free_port)
gateway() { # NAME PORT VAR=VALUE...
  local name=$1 port=$2
  shift 2
  env -i PATH="$PATH" B24_WEBHOOK_URL="http://127.0.0.1:$SANDBOX_PORT/rest/1/$CODE/" \
    STOCK_ALLOWED_ORIGINS="http://127.0.0.1:$SHOP_PORT" STOCK_RATE_LIMIT_PER_MIN=0 \
    STOCK_LOG_FORMAT=json "$@" \
    "$BIN" serve --listen "127.0.0.1:$port" >"$WORK/$name.log" 2>&1 </dev/null &
  pids+=($!)
  wait_ok "http://127.0.0.1:$port/healthz"
}
EXACT_PORT=$(free_port)
gateway gateway "$EXACT_PORT" STOCK_DEMO_PAGE=on
LEVEL_PORT=$(free_port)
gateway gateway-level "$LEVEL_PORT" STOCK_EXPOSE=level STOCK_CACHE_TTL_SECS=2

node tests/browser/static-server.mjs "$SHOP_PORT" "$OTHER_PORT" >"$WORK/shop.log" 2>&1 </dev/null &
pids+=($!)
wait_ok "http://127.0.0.1:$SHOP_PORT/badges.html?gw=http://127.0.0.1:$EXACT_PORT"
wait_ok "http://127.0.0.1:$OTHER_PORT/badges.html?gw=http://127.0.0.1:$EXACT_PORT"

# ---- 3. the tests ----------------------------------------------------------------------------
export GATEWAY="http://127.0.0.1:$EXACT_PORT" LEVEL_GATEWAY="http://127.0.0.1:$LEVEL_PORT"
export SHOP="http://127.0.0.1:$SHOP_PORT" OTHER_SHOP="http://127.0.0.1:$OTHER_PORT"
export ARTEFACTS="$ROOT/target/browser"
(cd tests/browser && timeout 300 node --test --test-concurrency=1 --test-timeout=120000 badges.test.mjs)
log "badges work in Chromium; screenshot: target/browser/demo.png"
