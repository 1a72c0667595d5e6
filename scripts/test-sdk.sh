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
# shellcheck source=scripts/local-servers.sh
source "$ROOT/scripts/local-servers.sh"
local_start_sandbox sdk
local_start_gateway gateway
GATEWAY_PORT=$LOCAL_PORT

# ---- 3. the libraries against it -----------------------------------------------------------------
export GATEWAY_WEBHOOK="http://127.0.0.1:$GATEWAY_PORT/rest/0/public/"
timeout 180 "$VENV/bin/python" tests/sdk/python/sdk_test.py
(cd tests/sdk/js && timeout 120 node sdk_test.mjs)
# The libraries reached the portal only through the gateway, and the gateway never logged
# the webhook.
if grep -qF "$CODE" "$LOCAL_WORK/gateway.log"; then log "the gateway log shows the webhook code"; exit 1; fi
log "published Bitrix24 clients work against the gateway"
