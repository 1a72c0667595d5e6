#!/usr/bin/env bash
# Builds the Cloudflare Worker into build/ (index.js + index_bg.wasm) with worker-build and the
# pinned tools from scripts/install-worker-tools.sh (installed first if missing; a warm run
# checks in about a second). wrangler.toml's [build] command runs this script.
#
#   bash scripts/build-worker.sh                      # release: what is deployed and tested
#   WORKER_PROFILE=dev bash scripts/build-worker.sh   # dev: quick rebuilds, a bigger bundle
#   WORKER_FORCE_BUILD=1 bash scripts/build-worker.sh # build even if build/ looks current
#
# Without WORKER_PROFILE the profile follows wrangler: it runs this script with
# WRANGLER_COMMAND=dev under `wrangler dev`, and deploy, "versions upload" or types otherwise.
# So `wrangler dev` rebuilds with the dev profile, everything else (wrangler deploy, the test
# scripts, the bundle measurements) with release.
#
# release: for size (opt-level z, fat LTO, one codegen unit, wasm-opt), through
#   CARGO_PROFILE_RELEASE_* variables so the native release profile in Cargo.toml stays as it
#   is, in its own target folder (target/worker) so it never waits for the native builds' lock.
# dev: the same release semantics (no debug assertions) at opt-level 1, no LTO, 16 codegen
#   units, incremental, no wasm-opt, in target/worker-dev so switching keeps both caches warm.
# build/.profile records which one build/ holds: a dev build is never taken for a release one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[build-worker] %s\n' "$*" >&2; }

PROFILE="${WORKER_PROFILE:-}"
if [[ -z $PROFILE ]]; then
  if [[ ${WRANGLER_COMMAND:-} == dev ]]; then PROFILE=dev; else PROFILE=release; fi
fi
case $PROFILE in
  dev | release) ;;
  *) log "WORKER_PROFILE must be dev or release, not '$PROFILE'"; exit 2 ;;
esac

OUT="$ROOT/build"
STAMP="$OUT/.profile"
needs_build() {
  [[ -f "$OUT/index.js" && -f "$OUT/index_bg.wasm" ]] || return 0
  [[ "$(cat "$STAMP" 2>/dev/null)" == "$PROFILE" ]] || return 0
  # openapi.json and widget/ are embedded in the core (src/core/api/storefront.rs).
  [[ -n "$(find src Cargo.toml Cargo.lock openapi.json widget -newer "$OUT/index_bg.wasm" -print -quit)" ]]
}
if [[ -z "${WORKER_FORCE_BUILD:-}" ]] && ! needs_build; then
  log "build/ is up to date ($PROFILE)"
  exit 0
fi

bash "$ROOT/scripts/install-worker-tools.sh" >&2
# shellcheck source=/dev/null
source "${WORKER_TOOLS_DIR:-$ROOT/.tools}/worker-env.sh"

export CARGO_TERM_COLOR=never
if [[ $PROFILE == release ]]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
  export CARGO_PROFILE_RELEASE_LTO=true
  export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
  target_dir=target/worker
  extra=()
else
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
  export CARGO_PROFILE_RELEASE_LTO=off
  export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
  export CARGO_PROFILE_RELEASE_INCREMENTAL=true
  target_dir=target/worker-dev
  extra=(--no-opt)
fi
rm -f "$STAMP"
t0=$EPOCHREALTIME
worker-build --release "${extra[@]}" --no-default-features --features worker \
  --target-dir "$target_dir" >&2
wasm="$OUT/index_bg.wasm"
[[ -f "$wasm" && -f "$OUT/index.js" ]] || { log "worker-build wrote no $wasm"; exit 1; }
if [[ $PROFILE == release ]]; then
  # worker-build keeps the name section (function names in stack traces): 190 KB raw, 50 KB
  # gzipped. Panics still log their message and source location without it.
  "$WASM_OPT_BIN" --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types \
    --enable-exception-handling --strip-debug "$wasm" -o "$wasm.stripped"
  mv "$wasm.stripped" "$wasm"
fi
echo "$PROFILE" >"$STAMP"
log "$(printf 'built (%s) in %.0fs: %s %d bytes, %d gzipped' "$PROFILE" \
  "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "${wasm#"$ROOT"/}" \
  "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)")"
