#!/usr/bin/env bash
# Builds the Cloudflare Worker into build/ (index.js + index_bg.wasm): `worker-build --release`
# with the pinned tools from scripts/install-worker-tools.sh (installed first if missing; a
# warm run checks in about a second). wrangler.toml's [build] command runs this script.
#
#   bash scripts/build-worker.sh            # skips the build when build/ is newer than sources
#   WORKER_FORCE_BUILD=1 bash scripts/build-worker.sh
#
# The wasm is built for size (opt-level z, fat LTO, one codegen unit) through CARGO_PROFILE_*
# variables, so the native release profile in Cargo.toml stays as it is, in its own target
# folder (target/worker) so it never waits for the native builds' lock.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[build-worker] %s\n' "$*" >&2; }

OUT="$ROOT/build"
inputs_newer() {
  [[ -f "$OUT/index.js" && -f "$OUT/index_bg.wasm" ]] || return 0
  # openapi.json and widget/ are embedded in the core (src/core/api/storefront.rs).
  [[ -n "$(find src Cargo.toml Cargo.lock openapi.json widget -newer "$OUT/index_bg.wasm" -print -quit)" ]]
}
if [[ -z "${WORKER_FORCE_BUILD:-}" ]] && ! inputs_newer; then
  log "build/ is up to date"
  exit 0
fi

bash "$ROOT/scripts/install-worker-tools.sh" >&2
# shellcheck source=/dev/null
source "${WORKER_TOOLS_DIR:-$ROOT/.tools}/worker-env.sh"

export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
export CARGO_PROFILE_RELEASE_LTO=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_TERM_COLOR=never
t0=$EPOCHREALTIME
worker-build --release --no-default-features --features worker --target-dir target/worker >&2
wasm="$OUT/index_bg.wasm"
[[ -f "$wasm" && -f "$OUT/index.js" ]] || { log "worker-build wrote no $wasm"; exit 1; }
# worker-build keeps the name section (function names in stack traces): 190 KB raw, 50 KB
# gzipped. Panics still log their message and source location without it.
"$WASM_OPT_BIN" --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling \
  --strip-debug "$wasm" -o "$wasm.stripped"
mv "$wasm.stripped" "$wasm"
log "$(printf 'built in %.0fs: %s %d bytes, %d gzipped' \
  "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "${wasm#"$ROOT"/}" \
  "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)")"
