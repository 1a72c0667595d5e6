#!/usr/bin/env bash
# The OpenAPI document: openapi.yaml is written by hand; openapi.json (minified, embedded in
# every adapter and served at /openapi.json) is generated from it and committed.
#
#   bash scripts/openapi.sh          # check: both valid OpenAPI 3.1, and the JSON is current
#   bash scripts/openapi.sh build    # regenerate openapi.json after editing the YAML
#
# The validator (openapi-spec-validator, pinned with its dependencies in
# tests/openapi/requirements.txt) is installed into .tools/openapi-venv (git-ignored); a rerun
# reuses it. tests/openapi.rs checks the same equality with another YAML parser.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[openapi] %s\n' "$*" >&2; }
VENV="${OPENAPI_TOOLS_DIR:-$ROOT/.tools}/openapi-venv"
REQUIREMENTS=tests/openapi/requirements.txt

if ! cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt" 2>/dev/null; then
  rm -rf "$VENV"
  timeout 120 python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
  log "validator installed"
fi

# The YAML's content as minified JSON, in the YAML's key order, UTF-8 as written.
minified() {
  "$VENV/bin/python" -c '
import json, sys, yaml
with open("openapi.yaml", encoding="utf-8") as f:
    doc = yaml.safe_load(f)
sys.stdout.write(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))
'
}

case "${1:-check}" in
  build)
    minified >openapi.json.tmp
    mv openapi.json.tmp openapi.json
    log "openapi.json: $(stat -c %s openapi.json) bytes, $(gzip -9 -c openapi.json | wc -c) gzipped"
    ;;
  check)
    timeout 120 "$VENV/bin/openapi-spec-validator" --validation-errors all openapi.yaml openapi.json
    if ! cmp -s <(minified) openapi.json; then
      log "openapi.json is not the YAML's content: run bash scripts/openapi.sh build"
      exit 1
    fi
    log "openapi.yaml and openapi.json are valid OpenAPI 3.1 and agree"
    ;;
  *)
    log "usage: $0 [check|build]"
    exit 2
    ;;
esac
