#!/usr/bin/env bash
# redis-server from Debian's packages, for the tests of replicas that share state
# (STOCK_SHARED_STATE). The tests start their own servers on loopback ports; this only makes
# the binary available. Idempotent: apt runs only when redis-server is missing.
set -euo pipefail

log() { printf '[install-redis] %s\n' "$*" >&2; }

if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq
  timeout 600 apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
redis-server --version
