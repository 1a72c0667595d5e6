#!/usr/bin/env bash
# Cold start of the Lambda bootstrap against a hello-world lambda_http bootstrap built in the
# same run, and the size of the deployable (stripped, arm64) bootstrap.
#
#   bash bench/lambda-cold-start.sh [RUNS]        (default 30 runs per case)
#
# Cold start = from spawning the process to its first answer reaching the runtime API, i.e. the
# part of a Lambda cold start that the function controls (init + first invocation). The runtime
# API is a small local stand-in (Python, loopback) that hands each fresh process one API Gateway
# v2 event and times it; every run is a new process. Cases, interleaved run by run:
#   hello        examples/hello_lambda.rs (same runtime flavour, same release flags)
#   gw-health    bootstrap, GET /healthz             (no portal call)
#   gw-record    bootstrap, GET /v1/store-products/13 (cache miss: one batch with the record,
#                its product's flags and the inventory mode, from the sandbox portal on
#                loopback, through the HTTP client built on first use)
#   portal       the same exchange with the sandbox, sent by this script on a new
#                connection: the portal's share of gw-record, which no gateway can save
# The sandbox portal is a release build: a debug build spent ~0.5 ms of its own per exchange,
# which the old figures counted against the gateway.
# RSS = the process's peak resident set (VmHWM) right after its first answer.
# Results go to stdout and bench-results/lambda-cold-start.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
RUNS=${1:-30}
export CARGO_TERM_COLOR=never

log() { printf '[lambda-bench] %s\n' "$*" >&2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/b24-lambda-bench.XXXXXX")
SANDBOX_PID=
cleanup() {
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "tools"
bash scripts/install-lambda-tools.sh >/dev/null 2>&1 || bash scripts/install-lambda-tools.sh
# shellcheck source=/dev/null
source .tools/lambda-env.sh

log "build: release bootstrap and hello_lambda for x86_64 (this machine), same flags as the artifact"
# The release flags of the deployable build: CargoLambda.toml's `config` plus what cargo-lambda
# adds (panic = "abort", strip). Keep in sync with CargoLambda.toml. One cargo invocation for
# the bootstrap and the example, so both share one compile of the dependencies.
RELEASE_FLAGS=(
  --config "profile.release.opt-level='s'" --config profile.release.lto=true
  --config profile.release.codegen-units=1 --config 'profile.release.panic="abort"'
  --config 'profile.release.strip="symbols"'
)
cargo build --locked --release --no-default-features --features lambda \
  "${RELEASE_FLAGS[@]}" --bin bootstrap --example hello_lambda
BOOTSTRAP="$TARGET/release/bootstrap"
HELLO="$TARGET/release/examples/hello_lambda"
log "build: sandbox portal (release)"
cargo build --locked --release --bin b24-stock-gateway
SANDBOX_BIN="$TARGET/release/b24-stock-gateway"
log "build: deployable arm64 bootstrap (cargo lambda build --release --arm64)"
cargo lambda build --release --arm64 --bin bootstrap
ARM64="$TARGET/lambda/bootstrap/bootstrap"

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
PORT=$(free_port)
CODE="bench$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
SANDBOX_WEBHOOK_CODE=$CODE "$SANDBOX_BIN" sandbox \
  --listen "127.0.0.1:$PORT" --drain-per-sec 100000 --burst 1000000 >"$WORK/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/_sandbox/health" 2>/dev/null && break
  sleep 0.1
done

mkdir -p bench-results
OUT=bench-results/lambda-cold-start.txt
python3 - "$RUNS" "$BOOTSTRAP" "$HELLO" \
  "http://127.0.0.1:$PORT/rest/1/$CODE/" "$ROOT/tests/fixtures/lambda/apigw_v2_http.json" \
  "$ARM64" <<'PY' | tee "$OUT"
import http.client, json, os, statistics, subprocess, sys, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

runs, bootstrap, hello, webhook, fixture, arm64 = sys.argv[1:7]
runs = int(runs)
template = json.load(open(fixture))

def event(path):
    e = json.loads(json.dumps(template))
    e["rawPath"] = path
    e["requestContext"]["http"]["path"] = path
    return json.dumps(e).encode()

class Run:
    def __init__(self, body):
        self.body = body
        self.handed = False
        self.t_next = None
        self.t_answer = None
        self.answer = None
        self.done = threading.Event()

class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass  # a killed process resets its held poll: expected

def runtime_api(run):
    """A runtime API stand-in for one run: hands out `run`'s event once, takes the answer."""
    class RuntimeApi(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a):
            pass
        def do_GET(self):
            if self.path.endswith("/runtime/invocation/next") and not run.handed:
                run.handed = True
                run.t_next = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-request")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:111122223333:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(run.body)))
                self.end_headers()
                self.wfile.write(run.body)
                return
            # The next poll after the first answer: hold it until the process is killed.
            run.done.wait(10)
            self.close_connection = True
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if "/response" in self.path:
                run.t_answer = time.perf_counter()
                run.answer = body
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
    server = QuietServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server

base_env = {
    "PATH": os.environ.get("PATH", ""),
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
    "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
    "AWS_REGION": "us-east-1",
    "RUST_LOG": "info",
    "STOCK_LOG_FORMAT": "json",
    "B24_WEBHOOK_URL": webhook,
    "STOCK_PORTAL_RATE_PER_SEC": "10000",
    "STOCK_PORTAL_BURST": "100000",
}

def peak_rss_kb(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None

def one(binary, path):
    run = Run(event(path))
    server = runtime_api(run)
    env = dict(base_env, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % server.server_address[1])
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = t0 + 10
    while run.t_answer is None and time.perf_counter() < deadline and proc.poll() is None:
        time.sleep(0.0002)
    rss = peak_rss_kb(proc.pid)
    proc.kill()
    proc.wait()
    run.done.set()
    server.shutdown()
    server.server_close()
    if run.t_answer is None:
        raise SystemExit("%s %s: no answer (exit %s)" % (binary, path, proc.returncode))
    status = json.loads(run.answer).get("statusCode")
    if status != 200:
        raise SystemExit("%s %s: status %s" % (binary, path, status))
    return ((run.t_next - t0) * 1000, (run.t_answer - t0) * 1000, rss)

def portal_exchanges(_binary, _path):
    """The gateway's portal exchange for a cold record, on a new connection."""
    url = urllib.parse.urlsplit(webhook)
    headers = {"content-type": "application/json", "accept": "application/json"}
    batch = (b'{"halt":0,"cmd":{"c0":"catalog.storeproduct.get?id=13",'
             b'"c1":"catalog.product.get?id=$result[c0][storeProduct][productId]",'
             b'"c2":"catalog.document.mode.status"}}')
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    for method, body in (("batch", batch),):
        conn.request("POST", url.path + method, body=body, headers=headers)
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit("portal %s: status %s" % (method, answer.status))
    t1 = time.perf_counter()
    conn.close()
    return (0.0, (t1 - t0) * 1000, None)

cases = [("hello", hello, "/healthz"),
         ("gw-health", bootstrap, "/healthz"),
         ("gw-record", bootstrap, "/v1/store-products/13"),
         ("portal", None, None)]
def measure(binary, path):
    return portal_exchanges(binary, path) if binary is None else one(binary, path)
for name, binary, path in cases:  # warm the page cache
    measure(binary, path)
results = {name: [] for name, _, _ in cases}
for _ in range(runs):
    for name, binary, path in cases:
        results[name].append(measure(binary, path))

def q(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]

print("Lambda cold start, %d runs per case, %s, %s" % (
    runs, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.uname().machine))
print("%-10s %14s %20s %20s %14s" % ("case", "init ms (p50)", "first answer ms p50", "first answer ms p90", "peak RSS MB"))
med = {}
for name, _, _ in cases:
    rs = results[name]
    init = statistics.median(r[0] for r in rs)
    first = [r[1] for r in rs]
    sizes = [r[2] for r in rs if r[2]]
    rss = statistics.median(sizes) / 1024 if sizes else float("nan")
    med[name] = (statistics.median(first), rss)
    print("%-10s %14.2f %20.2f %20.2f %14.1f" % (name, init, med[name][0], q(first, 0.9), rss))
record_ratio = med["gw-record"][0] / med["hello"][0]
print("ratio gw-health / hello (first answer, p50): %.2fx" % (med["gw-health"][0] / med["hello"][0]))
print("ratio gw-record / hello (first answer, p50): %.2fx" % record_ratio)
print("gw-record less the portal's exchange, / hello: %.2fx (the gateway's own part)" % (
    (med["gw-record"][0] - med["portal"][0]) / med["hello"][0]))
print("ratio peak RSS gw-record / hello: %.2fx" % (med["gw-record"][1] / med["hello"][1]))
size = os.path.getsize(arm64)
print("deployable bootstrap (arm64, stripped by cargo lambda): %d bytes = %.2f MiB" % (size, size / 1048576))
print("goal: first portal answer <= 1.5x hello: %s (%.2fx)" % (
    "met" if record_ratio <= 1.5 else "MISSED", record_ratio))
print("goal: deployable bootstrap <= 4 MiB: %s (%.2f MiB)" % (
    "met" if size <= 4 * 1048576 else "MISSED", size / 1048576))
for label, path in (("bootstrap", bootstrap), ("hello_lambda", hello)):
    print("x86_64 %s (stripped): %.2f MiB" % (label, os.path.getsize(path) / 1048576))
PY
log "results in $OUT"
