#!/usr/bin/env bash
# The AWS Lambda adapter, on a fresh machine (called by scripts/test-all.sh):
#
#   1. tools: cargo-lambda + zig, aws-sam-cli + cfn-lint, the runtime interface emulator
#   2. lints with the `lambda` feature (test-all.sh lints without it)
#   3. release bootstrap for x86_64 (the emulator runs on this machine)
#      with the same release flags as the deployable artifact
#   4. unit tests of src/lambda; in-process event tests (v1, v2, ALB, Function URL); the Secrets
#      extension stand-in; the release bootstrap under AWS's runtime interface emulator, and
#      against a runtime API stand-in that hands out many events at once (managed instances);
#      mirror mode (the sweeper and the HTTP function) against moto's S3 server on loopback
#   5. the shared contract suite, unchanged, against `cargo lambda watch` + the sandbox portal;
#      again in mirror mode, with the release bootstrap sweeping into moto's S3 every 3 s
#   6. template checks: sam validate --lint, cfn-lint, cfn-lint on the SAM->CFN transform
#   7. the deployable artifact: cargo lambda build --release --arm64
#
# Every server it starts runs in its own process group and is killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TERM_COLOR=never

T_START=$EPOCHREALTIME
T_STEP=$EPOCHREALTIME
TIMINGS=()
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}'; }
step() {
  if [ -n "${STEP:-}" ]; then TIMINGS+=("$(printf '%-58s %4ss' "$STEP" "$(elapsed "$T_STEP")")"); fi
  STEP=$1
  T_STEP=$EPOCHREALTIME
  printf '\n-- lambda: %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/b24-lambda-test.XXXXXX")
GROUPS_TO_KILL=()
cleanup() {
  local status=$?
  for pgid in "${GROUPS_TO_KILL[@]}"; do
    kill -TERM -- "-$pgid" 2>/dev/null || true
  done
  sleep 0.3
  for pgid in "${GROUPS_TO_KILL[@]}"; do
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      printf '\n== last lines of %s\n' "$(basename "$f")"
      tail -n 40 "$f"
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# wait_http URL SECONDS: until URL answers 200.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "not ready after $2 s: $url" >&2
      return 1
    fi
    sleep 0.2
  done
}

step "1. tools (scripts/install-lambda-tools.sh)"
timeout 900 bash scripts/install-lambda-tools.sh
# shellcheck source=/dev/null
source .tools/lambda-env.sh

step "2. clippy --features lambda"
timeout 900 cargo clippy --locked --all-targets --features lambda -- -D warnings

step "3. release bootstrap for x86_64 (the emulator runs on this machine)"
# The release flags of the deployable build: CargoLambda.toml's `config` plus what cargo-lambda
# adds (panic = "abort", strip). Keep in sync with CargoLambda.toml (and bench/lambda-cold-start.sh,
# which also builds the hello-world baseline).
RELEASE_FLAGS=(
  --config "profile.release.opt-level='s'" --config profile.release.lto=true
  --config profile.release.codegen-units=1 --config 'profile.release.panic="abort"'
  --config 'profile.release.strip="symbols"'
)
timeout 1200 cargo build --locked --release --no-default-features --features lambda \
  "${RELEASE_FLAGS[@]}" --bin bootstrap
BOOTSTRAP_X86="$TARGET/release/bootstrap"
ls -l "$BOOTSTRAP_X86"

step "4. unit, event, secret and emulator tests"
# One feature set (default + lambda) for every debug build below, so they share artifacts.
timeout 1200 cargo build --locked --features lambda --bins \
  --test lambda_events --test lambda_secret --test lambda_rie --test lambda_concurrent \
  --test lambda_mirror --test contract
timeout 300 cargo test --locked --features lambda --lib -- lambda::
# The mirror's bucket lives on moto's S3 server (in-memory), on loopback.
S3_PORT=$(free_port)
setsid "$MOTO_SERVER_BIN" -H 127.0.0.1 -p "$S3_PORT" > "$WORK/moto-s3.log" 2>&1 &
GROUPS_TO_KILL+=("$!")
wait_http "http://127.0.0.1:$S3_PORT/" 60
MIRROR_S3_ENDPOINT="http://127.0.0.1:$S3_PORT" LAMBDA_E2E_REQUIRED=1 \
  LAMBDA_BOOTSTRAP="$BOOTSTRAP_X86" timeout 600 cargo test --locked --features lambda \
  --test lambda_events --test lambda_secret --test lambda_rie --test lambda_concurrent \
  --test lambda_mirror -- --nocapture

step "5. contract suite against cargo lambda watch"
SANDBOX_PORT=$(free_port)
WATCH_PORT=$(free_port)
CODE="lw$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
ENV_FILE="$WORK/function.env"
grep -E '^[A-Z_]+=' tests/contract.env > "$ENV_FILE"
{
  echo "B24_WEBHOOK_URL=http://127.0.0.1:$SANDBOX_PORT/rest/1/$CODE/"
  echo "STOCK_LOG_FORMAT=json"
  echo "RUST_LOG=info"
} >> "$ENV_FILE"
SANDBOX_WEBHOOK_CODE=$CODE setsid "$TARGET/debug/b24-stock-gateway" sandbox \
  --listen "127.0.0.1:$SANDBOX_PORT" --drain-per-sec 1000 --burst 100000 \
  > "$WORK/sandbox.log" 2>&1 &
GROUPS_TO_KILL+=("$!")
# cargo lambda watch serves HTTP (Function URL events) and the runtime API; the function is the
# bootstrap step 4 built (--only-lambda-apis: watch's own `cargo run` would build it once more,
# without the dev-dependency features the test build unified). --disable-cors: the gateway
# answers CORS itself. Both write to one log: the suite checks every line of it.
FUNCTION_LOG="$WORK/lambda-watch-and-function.log"
setsid cargo lambda watch --only-lambda-apis --disable-cors \
  --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" >> "$FUNCTION_LOG" 2>&1 &
GROUPS_TO_KILL+=("$!")
wait_tcp() {
  local deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "nothing listens on $1 after $2 s" >&2; return 1; }
    sleep 0.2
  done
}
wait_tcp "$WATCH_PORT" 60
(
  set -a
  # shellcheck source=/dev/null
  source "$ENV_FILE"
  set +a
  export AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$WATCH_PORT/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
    AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128
  exec setsid "$TARGET/debug/bootstrap"
) >> "$FUNCTION_LOG" 2>&1 &
GROUPS_TO_KILL+=("$!")
wait_http "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health" 30
wait_http "http://127.0.0.1:$WATCH_PORT/healthz" 300
CONTRACT_BASE_URL="http://127.0.0.1:$WATCH_PORT" CONTRACT_WEBHOOK_CODE=$CODE \
  CONTRACT_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" CONTRACT_LOG_FILE="$FUNCTION_LOG" \
  timeout 600 cargo test --locked --features lambda --test contract --test contract_bulk

step "5b. the contract suite in mirror mode: the sweeper under the emulator, the function under watch"
# A bucket on moto's server (step 4's; it takes unsigned requests), swept into every 3 s by the
# release bootstrap in its sweep role, as the schedule would start it.
MIRROR_BUCKET="contract-mirror"
curl -fsS -X PUT -o /dev/null "http://127.0.0.1:$S3_PORT/$MIRROR_BUCKET"
MIRROR_ENV=(STOCK_SOURCE=mirror STOCK_MIRROR_INTERVAL_SECS=5 "STOCK_MIRROR_BUCKET=$MIRROR_BUCKET"
  "STOCK_MIRROR_S3_ENDPOINT=http://127.0.0.1:$S3_PORT" AWS_ACCESS_KEY_ID=test
  AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1)
RIE_PORT=$(free_port)
(
  set -a
  # shellcheck source=/dev/null
  source "$ENV_FILE"
  set +a
  export "${MIRROR_ENV[@]}" STOCK_LAMBDA_ROLE=sweep
  exec setsid "$AWS_LAMBDA_RIE" --runtime-interface-emulator-address "127.0.0.1:$RIE_PORT" \
    --runtime-api-address "127.0.0.1:$(free_port)" "$BOOTSTRAP_X86"
) >> "$WORK/sweeper.log" 2>&1 &
GROUPS_TO_KILL+=("$!")
wait_tcp "$RIE_PORT" 30
setsid bash -c "while true; do
  curl -sS --max-time 60 -d '{}' http://127.0.0.1:$RIE_PORT/2015-03-31/functions/function/invocations
  echo; sleep 3
done" >> "$WORK/sweeps.log" 2>&1 &
GROUPS_TO_KILL+=("$!")
MIRROR_WATCH_PORT=$(free_port)
MIRROR_LOG="$WORK/lambda-watch-and-function-mirror.log"
setsid cargo lambda watch --only-lambda-apis --disable-cors \
  --invoke-address 127.0.0.1 --invoke-port "$MIRROR_WATCH_PORT" >> "$MIRROR_LOG" 2>&1 &
GROUPS_TO_KILL+=("$!")
wait_tcp "$MIRROR_WATCH_PORT" 60
(
  set -a
  # shellcheck source=/dev/null
  source "$ENV_FILE"
  set +a
  export "${MIRROR_ENV[@]}" AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$MIRROR_WATCH_PORT/.rt" \
    AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128
  exec setsid "$TARGET/debug/bootstrap"
) >> "$MIRROR_LOG" 2>&1 &
GROUPS_TO_KILL+=("$!")
wait_http "http://127.0.0.1:$MIRROR_WATCH_PORT/healthz" 300
# The function looks for a table at most every 5 s: until it has one it answers 503.
for _ in $(seq 150); do
  curl -fsS --max-time 5 "http://127.0.0.1:$MIRROR_WATCH_PORT/healthz" | grep -q '"serving":"mirror"' && break
  sleep 0.2
done
curl -fsS --max-time 5 "http://127.0.0.1:$MIRROR_WATCH_PORT/healthz" | grep -q '"serving":"mirror"' \
  || { echo "the function has no table after 30 s (sweeps: $(tail -c 300 "$WORK/sweeps.log"))" >&2; exit 1; }
CONTRACT_SOURCE=mirror CONTRACT_BASE_URL="http://127.0.0.1:$MIRROR_WATCH_PORT" \
  CONTRACT_WEBHOOK_CODE=$CODE CONTRACT_SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT" \
  CONTRACT_LOG_FILE="$MIRROR_LOG" \
  timeout 600 cargo test --locked --features lambda --test contract --test contract_bulk
grep -q '"swept":true' "$WORK/sweeps.log" || { echo "no sweep succeeded" >&2; exit 1; }

step "6. template checks (scripts/check-template.sh)"
timeout 600 bash scripts/check-template.sh template.yaml

step "7. cargo lambda build --release --arm64"
timeout 1200 cargo lambda build --release --arm64 --bin bootstrap
ARTIFACT="$TARGET/lambda/bootstrap/bootstrap"
file "$ARTIFACT" 2>/dev/null || true
printf 'deployable bootstrap: %s bytes (%s)\n' "$(stat -c %s "$ARTIFACT")" "$ARTIFACT"

step "done"
printf '\nlambda timings:\n'
printf '  %s\n' "${TIMINGS[@]}"
printf '  %-58s %4ss\n' "total" "$(elapsed "$T_START")"
