#!/usr/bin/env bash
# The mirror's table in the Durable Object, measured under `wrangler dev` (workerd, local mode):
# the sandbox portal holds 100,000 records (its fixtures and `--records 100000`) behind a bucket
# that never fills; the Worker runs STOCK_SOURCE=mirror, so its portal coordinator (the object)
# sweeps the whole stock once and keeps the table in memory. Printed, and written to
# bench-results/worker-mirror.txt:
#   - the table's rows and bytes in the object (the "sweep finished" log line's `table_bytes`:
#     the table's vectors, as `Table::heap_bytes` counts them inside the wasm instance);
#   - workerd's resident memory before the sweep and with the table (all of wrangler dev's
#     isolates together: an upper bound for the object's own share);
#   - the sweep's wall time, and a read served from the table;
#   - the goal: the table within the Durable Object's 128 MB memory limit, met or missed.
# Loopback only, every wait bounded. Usage: bench/worker-mirror.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[worker-mirror] %s\n' "$*" >&2; }
# shellcheck source=scripts/worker-dev.sh
source "$ROOT/scripts/worker-dev.sh"
trap 'dev_cleanup "$?"' EXIT
bash scripts/install-worker-tools.sh >&2
# shellcheck source=/dev/null
source "${WORKER_TOOLS_DIR:-$ROOT/.tools}/worker-env.sh"
timeout 1200 bash scripts/build-worker.sh
timeout 1200 cargo build --locked --quiet --bin b24-stock-gateway
mkdir -p bench-results

DEV_SANDBOX_RECORDS=100000 dev_start_sandbox
dev_start_wrangler STOCK_SOURCE=mirror STOCK_MIRROR_INTERVAL_SECS=3600 RUST_LOG=info
dev_wait_listening "$WORKER_PORT" 120 "$WRANGLER_PID"
for _ in $(seq 1200); do grep -q 'Ready on' "$DEV_WORK/wrangler-full.log" && break; sleep 0.05; done

# workerd: wrangler dev's child process that runs every isolate.
workerd_rss_kib() {
  local pid
  for pid in $(pgrep -f workerd); do
    if pstree -p "$WRANGLER_PID" 2>/dev/null | grep -q "($pid)"; then
      awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; return
    fi
  done
  echo 0
}
before=$(workerd_rss_kib)
started=$(dev_now)
# The first request wakes the object; it sweeps, then serves the table.
served=""
for _ in $(seq 600); do
  health=$(curl -fsS -m 5 "http://127.0.0.1:$WORKER_PORT/healthz" 2>/dev/null || true)
  if grep -q '"serving":"mirror"' <<<"$health"; then served=$health; break; fi
  sleep 0.5
done
[ -n "$served" ] || { log "no table after 300 s"; tail -20 "$DEV_WORK/wrangler.log" >&2; exit 1; }
swept_s=$(dev_since "$started")
after=$(workerd_rss_kib)
record=$(curl -fsS -m 5 -o /dev/null -w '%{http_code} %header{x-cache}' \
  "http://127.0.0.1:$WORKER_PORT/v1/store-products/50001" || true)
line=$(grep -m1 'sweep finished' "$DEV_WORK/wrangler.log" || true)
[ -n "$line" ] || { log "no 'sweep finished' line in the log"; exit 1; }

python3 - "$line" "$before" "$after" "$swept_s" "$record" <<'PY' | tee bench-results/worker-mirror.txt
import re, sys
line, before, after, swept, record = sys.argv[1:6]
def field(name):
    m = re.search(name + r'"?[=:]"?(\d+)', line)
    return int(m.group(1)) if m else None
rows, table, requests = field("rows"), field("table_bytes"), field("portal_requests")
limit = 128 * 1024 * 1024
print(f"Durable Object mirror table under wrangler dev (workerd), {rows:,} rows")
print(f"table in the object (Table::heap_bytes): {table:,} B = {table / 2**20:.1f} MiB, {table / rows:.0f} B a row")
print(f"workerd resident memory: {int(before) / 1024:.1f} MiB before the sweep, {int(after) / 1024:.1f} MiB with the table (all isolates)")
print(f"sweep: {requests} portal requests, {float(swept):.1f} s from the first request to the table served")
print(f"a record from the table: {record}")
share = table / limit
print(f"goal: the table within the Durable Object's 128 MB: {'met' if table < limit else 'MISSED'} ({100 * share:.1f} % of it)")
PY
