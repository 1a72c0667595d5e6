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
# shellcheck source=scripts/local-servers.sh
source "$ROOT/scripts/local-servers.sh"
local_start_sandbox br
SHOP_PORT=$(free_port)
OTHER_PORT=$(free_port)
allowed="STOCK_ALLOWED_ORIGINS=http://127.0.0.1:$SHOP_PORT"
local_start_gateway gateway "$allowed" STOCK_DEMO_PAGE=on
EXACT_PORT=$LOCAL_PORT
local_start_gateway gateway-level "$allowed" STOCK_EXPOSE=level STOCK_CACHE_TTL_SECS=2
LEVEL_PORT=$LOCAL_PORT

node tests/browser/static-server.mjs "$SHOP_PORT" "$OTHER_PORT" >"$LOCAL_WORK/shop.log" 2>&1 </dev/null &
local_pids+=($!)
local_wait_ok "http://127.0.0.1:$SHOP_PORT/badges.html?gw=http://127.0.0.1:$EXACT_PORT"
local_wait_ok "http://127.0.0.1:$OTHER_PORT/badges.html?gw=http://127.0.0.1:$EXACT_PORT"

# ---- 3. the tests ----------------------------------------------------------------------------
export GATEWAY="http://127.0.0.1:$EXACT_PORT" LEVEL_GATEWAY="http://127.0.0.1:$LEVEL_PORT"
export LEVEL_GATEWAY_LOG="$LOCAL_WORK/gateway-level.log"
export SHOP="http://127.0.0.1:$SHOP_PORT" OTHER_SHOP="http://127.0.0.1:$OTHER_PORT"
export ARTEFACTS="$ROOT/target/browser"
(cd tests/browser && timeout 300 node --test --test-concurrency=1 --test-timeout=120000 badges.test.mjs)
log "badges work in Chromium; screenshot: target/browser/demo.png"
