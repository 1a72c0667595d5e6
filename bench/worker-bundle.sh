#!/usr/bin/env bash
# Worker bundle size and latency, written to bench-results/worker-bundle.txt:
#   1. builds the gateway (scripts/build-worker.sh, forced) and the workers-rs + serde_json
#      hello world in bench/worker-hello with the same tools and the same size-first flags;
#   2. sizes of index_bg.wasm after wasm-bindgen and wasm-opt (as deployed: worker-build keeps
#      the name section for readable stack traces), gzipped (-9), the ratio to the hello world,
#      and for reference the same with the name section stripped;
#   3. under `wrangler dev` (local mode) in front of the sandbox portal: the time from start to
#      wrangler's "Ready" (workerd loads and compiles the wasm then), the first request after
#      it (instantiation + gateway set-up from the vars and secret), then warm latencies over
#      keep-alive (healthz, cache hit, cache miss with a portal call), medians and p90.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TERM_COLOR=never
log() { printf '[worker-bundle] %s\n' "$*" >&2; }
# shellcheck source=scripts/worker-dev.sh
source "$ROOT/scripts/worker-dev.sh"
trap 'dev_cleanup "$?"' EXIT
OUT_DIR="$ROOT/bench-results"
REPORT="$OUT_DIR/worker-bundle.txt"
mkdir -p "$OUT_DIR"

bash scripts/install-worker-tools.sh >&2
# shellcheck source=/dev/null
source "${WORKER_TOOLS_DIR:-$ROOT/.tools}/worker-env.sh"

# ---- 1. builds ---------------------------------------------------------------------------------
WORKER_FORCE_BUILD=1 bash scripts/build-worker.sh
(
  cd bench/worker-hello
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=true \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
  worker-build --release --locked --out-dir ../../target/worker-hello/build \
    --target-dir ../../target/worker-hello >&2
)
cargo build --locked --quiet --bin b24-stock-gateway

# ---- 2. sizes ----------------------------------------------------------------------------------
gz() { gzip -9 -c "$1" | wc -c; }
strip_names() {
  "$WASM_OPT_BIN" --enable-bulk-memory --enable-reference-types --enable-exception-handling \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-multivalue --strip-debug "$1" -o "$2"
}
GW="$ROOT/build/index_bg.wasm"
HELLO="$ROOT/target/worker-hello/build/index_bg.wasm"
strip_names "$GW" "$DEV_WORK/gw.wasm"
strip_names "$HELLO" "$DEV_WORK/hello.wasm"
gw_gz=$(gz "$GW"); hello_gz=$(gz "$HELLO")
gw_js_gz=$(gz "$ROOT/build/index.js"); hello_js_gz=$(gz "$ROOT/target/worker-hello/build/index.js")
gw_s_gz=$(gz "$DEV_WORK/gw.wasm"); hello_s_gz=$(gz "$DEV_WORK/hello.wasm")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
kb() { awk -v a="$1" 'BEGIN { printf "%.1f KB", a / 1000 }'; }

# ---- 3. latency under wrangler dev ------------------------------------------------------------
dev_start_sandbox
dev_contract_settings
launched=$(dev_now)
dev_start_wrangler "${settings[@]}"
dev_wait_listening "$WORKER_PORT" 120 "$WRANGLER_PID"
# wrangler opens its port before workerd has the worker loaded; wait for its "Ready" line.
for _ in $(seq 1200); do grep -q 'Ready on' "$DEV_WORK/wrangler-full.log" && break; sleep 0.05; done
ready_s=$(dev_since "$launched")
latency=$(python3 - "$WORKER_PORT" <<'PY'
import http.client, statistics, sys, time
port = int(sys.argv[1])

def timed(conn, path):
    t = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
    return (time.perf_counter() - t) * 1000, r.status

def run(conn, paths):
    return sorted(timed(conn, p)[0] for p in paths)

def fmt(name, xs):
    p90 = xs[int(len(xs) * 0.9) - 1]
    return f"{name:<34} n={len(xs):<4} median {statistics.median(xs):7.2f} ms   p90 {p90:7.2f} ms"

first_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
first, status = timed(first_conn, "/healthz")
assert status == 200, status
first_record, status = timed(first_conn, "/v1/store-products/13")
assert status == 200, status
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
run(conn, ["/healthz"] * 20)  # warm-up
lines = [
    f"{'first request (/healthz)':<34} {first:7.1f} ms",
    f"{'then first record (portal call)':<34} {first_record:7.1f} ms",
    fmt("warm /healthz", run(conn, ["/healthz"] * 300)),
    fmt("warm cache hit (/v1/...13)", run(conn, ["/v1/store-products/13"] * 300)),
    fmt("warm cache miss (portal call)", run(conn, [f"/v1/store-products/{i}" for i in range(100, 300)])),
]
print("\n".join(lines))
PY
)

{
  echo "# Worker bundle and latency ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrangler $(PATH="$NODE22_BIN:$PATH" "$NODE22_BIN/node" "$WRANGLER" --version 2>/dev/null | tail -n1))"
  echo "# wasm after wasm-bindgen + wasm-opt (worker-build --release; opt-level z, fat LTO, 1 CGU), gzip -9"
  printf '%-28s %12s %12s %12s\n' "" "wasm" "wasm gz" "glue js gz"
  printf '%-28s %12s %12s %12s\n' "gateway" "$(kb "$(stat -c %s "$GW")")" "$(kb "$gw_gz")" "$(kb "$gw_js_gz")"
  printf '%-28s %12s %12s %12s\n' "hello world (serde_json)" "$(kb "$(stat -c %s "$HELLO")")" "$(kb "$hello_gz")" "$(kb "$hello_js_gz")"
  echo "ratio, wasm gz (as deployed):      $(ratio "$gw_gz" "$hello_gz")x"
  echo "ratio, wasm + glue gz:             $(ratio $((gw_gz + gw_js_gz)) $((hello_gz + hello_js_gz)))x"
  echo "name section stripped, gz:         gateway $(kb "$gw_s_gz"), hello $(kb "$hello_s_gz"), ratio $(ratio "$gw_s_gz" "$hello_s_gz")x"
  total=$((gw_gz + gw_js_gz))
  echo "goal: wasm + glue <= 160 KB gzipped: $([ "$total" -le 160000 ] && echo met || echo MISSED) ($(kb "$total"))"
  echo
  echo "# wrangler dev (local mode, workerd), loopback sandbox portal, one keep-alive client"
  echo "wrangler dev start to \"Ready\" (loads and compiles the wasm): ${ready_s} s"
  echo "$latency"
} | tee "$REPORT"
log "written to ${REPORT#"$ROOT"/}"
