#!/usr/bin/env bash
# The Rust Worker against the smallest honest JS Worker with the same hit-path contract
# (bench/js-worker/worker.js), both under `wrangler dev` (workerd, local mode) in front of the
# sandbox portal, measured in one run on this machine:
#   1. cache-hit requests/s and p99 with wrk (keep-alive, 2 threads, 32 connections), each Worker
#      twice, alternating, so drift affects both alike;
#   2. bundle sizes: wasm (name section stripped, as deployed by scripts/build-worker.sh) plus
#      glue, and the JS Worker minified with esbuild, gzipped (-9).
# Loopback only, every run bounded. Usage: bench/worker-vs-js.sh [seconds per run, default 10]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION=${1:-10}
log() { printf '[worker-vs-js] %s\n' "$*" >&2; }
# shellcheck source=scripts/worker-dev.sh
source "$ROOT/scripts/worker-dev.sh"
JS_PID=""
# dev_cleanup stops the sandbox and the session it started; the JS Worker's session is ours.
trap 'rc=$?; dev_stop "$JS_PID"; dev_cleanup "$rc"' EXIT
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
bash scripts/install-worker-tools.sh >&2
# shellcheck source=/dev/null
source "${WORKER_TOOLS_DIR:-$ROOT/.tools}/worker-env.sh"
timeout 1200 bash scripts/build-worker.sh
timeout 1200 cargo build --locked --quiet --bin b24-stock-gateway

dev_start_sandbox
# The same contract on both sides: no caller limit (the JS Worker has none) and no access-log
# line per request (console output through wrangler dev is costly; the JS Worker writes none).
settings=(STOCK_RATE_LIMIT_PER_MIN=0 STOCK_CACHE_TTL_SECS=3600 STOCK_ALLOWED_ORIGINS=https://shop.example)
DEV_NAME=rust DEV_NO_RATELIMITS=1 dev_start_wrangler "${settings[@]}" RUST_LOG=warn
RUST_PORT=$WORKER_PORT
RUST_PID=$WRANGLER_PID
dev_wait_ok "http://127.0.0.1:$RUST_PORT/healthz" 120 "$RUST_PID"

# The JS Worker: the same settings and secret, its own session.
JS_DIR="$DEV_WORK/js.d"
mkdir -p "$JS_DIR"
{
  echo 'name = "js-stock-worker"'
  echo "main = \"$ROOT/bench/js-worker/worker.js\""
  echo 'compatibility_date = "2026-11-01"'
  echo '[vars]'
  for kv in "${settings[@]}"; do echo "${kv%%=*} = \"${kv#*=}\""; done
} >"$JS_DIR/wrangler.toml"
printf 'B24_WEBHOOK_URL=http://127.0.0.1:%s/rest/1/%s/\n' "$SANDBOX_PORT" "$SANDBOX_CODE" >"$JS_DIR/.dev.vars"
JS_PORT=$(free_port)
PATH="$NODE22_BIN:$PATH" CI=true NO_COLOR=1 XDG_CONFIG_HOME="$JS_DIR/xdg" \
  "$NODE22_BIN/node" "$WRANGLER" dev --config "$JS_DIR/wrangler.toml" --local --ip 127.0.0.1 \
  --port "$JS_PORT" --inspector-port "$(free_port)" --persist-to "$JS_DIR/state" \
  --show-interactive-dev-session=false >"$DEV_WORK/js.log" 2>&1 </dev/null &
JS_PID=$!
dev_wait_ok "http://127.0.0.1:$JS_PORT/v1/store-products/13" 120 "$JS_PID"
# Same answer bytes from both, then warm.
rust_body=$(curl -fsS "http://127.0.0.1:$RUST_PORT/v1/store-products/13")
js_body=$(curl -fsS "http://127.0.0.1:$JS_PORT/v1/store-products/13")
[[ "$rust_body" == "$js_body" ]] || { log "the Workers answer differently: $rust_body / $js_body"; exit 1; }
for port in "$RUST_PORT" "$JS_PORT"; do
  for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/store-products/13"; done
done

run() { # PORT -> JSON summary
  wrk -t2 -c32 -d"${DURATION}s" --latency -H 'Origin: https://shop.example' \
    "http://127.0.0.1:$1/v1/store-products/13" | python3 bench/wrk_summary.py
}
rust1=$(run "$RUST_PORT"); js1=$(run "$JS_PORT"); rust2=$(run "$RUST_PORT"); js2=$(run "$JS_PORT")

gz() { gzip -9 -c "$1" | wc -c; }
"$WASM_OPT_BIN" --enable-bulk-memory --enable-reference-types --enable-exception-handling \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-multivalue --strip-debug build/index_bg.wasm -o "$DEV_WORK/gw.wasm"
"$ESBUILD_BIN" bench/js-worker/worker.js --bundle --minify --format=esm \
  --outfile="$DEV_WORK/js.min.js" --log-level=warning
rust_bytes=$(( $(gz "$DEV_WORK/gw.wasm") + $(gz build/index.js) ))
js_bytes=$(gz "$DEV_WORK/js.min.js")

python3 - "$rust1" "$js1" "$rust2" "$js2" "$rust_bytes" "$js_bytes" <<'PY'
import json, sys
r1, j1, r2, j2 = (json.loads(a) for a in sys.argv[1:5])
rust_bytes, js_bytes = int(sys.argv[5]), int(sys.argv[6])
for name, run in (("rust 1", r1), ("js 1", j1), ("rust 2", r2), ("js 2", j2)):
    assert run.get("non2xx", 0) == 0, f"{name}: {run['non2xx']} answers were not 2xx"
rps = lambda a, b: (a["rps"] + b["rps"]) / 2
p99 = lambda a, b: (a["p99"] + b["p99"]) / 2
print("| measure (cache hits under wrangler dev) | Rust Worker | JS Worker |")
print("|---|---|---|")
print(f"| requests/s (two runs each) | {r1['rps']:.0f}, {r2['rps']:.0f} | {j1['rps']:.0f}, {j2['rps']:.0f} |")
print(f"| p99 | {r1['p99']:.2f} ms, {r2['p99']:.2f} ms | {j1['p99']:.2f} ms, {j2['p99']:.2f} ms |")
print(f"| bundle, gzipped | {rust_bytes / 1000:.1f} KB | {js_bytes / 1000:.1f} KB |")
print(f"| **Rust / JS requests/s (goal >= 1.0)** | **{rps(r1, r2) / rps(j1, j2):.2f}** | |")
print(f"| Rust / JS p99 | {p99(r1, r2) / p99(j1, j2):.2f} | |")
PY
