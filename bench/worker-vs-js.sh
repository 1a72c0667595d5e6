#!/usr/bin/env bash
# The Rust Worker against the smallest honest JS Worker with the same hit-path contract
# (bench/js-worker/worker.js), both under `wrangler dev` (workerd, local mode) in front of the
# sandbox portal, measured in one run on this machine:
#   1. cache-hit requests/s and p99 with wrk (keep-alive, 2 threads, 32 connections), in
#      WORKER_VS_JS_ROUNDS rounds (default 5), each round the Rust Worker then the JS one, so
#      drift affects both alike; the goals (Rust >= 1.0x JS in requests/s, p99 <= 1.0x) are
#      judged on the medians of the rounds' ratios and printed as met or missed;
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
rounds=()
for _ in $(seq "${WORKER_VS_JS_ROUNDS:-5}"); do
  rounds+=("[$(run "$RUST_PORT"), $(run "$JS_PORT")]")
done

gz() { gzip -9 -c "$1" | wc -c; }
"$WASM_OPT_BIN" --enable-bulk-memory --enable-reference-types --enable-exception-handling \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-multivalue --strip-debug build/index_bg.wasm -o "$DEV_WORK/gw.wasm"
"$ESBUILD_BIN" bench/js-worker/worker.js --bundle --minify --format=esm \
  --outfile="$DEV_WORK/js.min.js" --log-level=warning
rust_bytes=$(( $(gz "$DEV_WORK/gw.wasm") + $(gz build/index.js) ))
js_bytes=$(gz "$DEV_WORK/js.min.js")

python3 - "$rust_bytes" "$js_bytes" "${rounds[@]}" <<'PY'
import json, statistics, sys
rust_bytes, js_bytes = int(sys.argv[1]), int(sys.argv[2])
rounds = [json.loads(a) for a in sys.argv[3:]]
for i, (rust, js) in enumerate(rounds):
    for name, run in (("rust", rust), ("js", js)):
        assert run.get("non2xx", 0) == 0, f"round {i + 1}, {name}: {run['non2xx']} answers were not 2xx"
rps = [r["rps"] / j["rps"] for r, j in rounds]
p99 = [r["p99"] / j["p99"] for r, j in rounds]
print(f"| measure (cache hits under wrangler dev, {len(rounds)} rounds) | Rust Worker | JS Worker |")
print("|---|---|---|")
listed = lambda side, key, digits: ", ".join(f"{pair[side][key]:.{digits}f}" for pair in rounds)
print(f"| requests/s | {listed(0, 'rps', 0)} | {listed(1, 'rps', 0)} |")
print(f"| p99 | {listed(0, 'p99', 1)} ms | {listed(1, 'p99', 1)} ms |")
print(f"| bundle, gzipped | {rust_bytes / 1000:.1f} KB | {js_bytes / 1000:.1f} KB |")
print(f"| Rust / JS requests/s, each round | {', '.join(f'{x:.2f}' for x in rps)} | |")
print(f"| **Rust / JS requests/s, median (goal >= 1.0)** | **{statistics.median(rps):.2f}** | |")
print(f"| Rust / JS p99, each round | {', '.join(f'{x:.2f}' for x in p99)} | |")
print(f"| **Rust / JS p99, median (goal <= 1.0)** | **{statistics.median(p99):.2f}** | |")
print()
print(f"goal: Rust Worker >= 1.0x JS Worker on hits, requests/s: {'met' if statistics.median(rps) >= 1.0 else 'MISSED'} ({statistics.median(rps):.2f}x)")
print(f"goal: Rust Worker p99 <= 1.0x JS Worker: {'met' if statistics.median(p99) <= 1.0 else 'MISSED'} ({statistics.median(p99):.2f}x)")
PY
