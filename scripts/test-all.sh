#!/usr/bin/env bash
# Every test, from a fresh machine: installs what the tests need, starts every server they use
# (the tests start the sandbox portal and the gateways themselves), and stops on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "toolchain"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo --version

step "format and lints"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
timeout 900 cargo clippy --locked --all-targets -- -D warnings

step "core: platform-free, builds for wasm32"
timeout 900 bash scripts/check-core.sh

step "redis-server (Debian's package) for the replicas' shared state"
bash scripts/install-redis.sh

step "unit, property and contract tests against the local server"
timeout 1200 cargo test --locked

step "the contract suite against the local server in mirror mode (STOCK_SOURCE=mirror)"
CONTRACT_SOURCE=mirror timeout 600 cargo test --locked --test contract --test contract_bulk

step "OpenAPI document: valid OpenAPI 3.1 (openapi-spec-validator), openapi.json current"
bash scripts/openapi.sh

step "the stock badge in headless Chromium against the local server"
bash scripts/test-browser.sh

step "fuzz targets: seed corpus replay, then a few seconds each (cargo-fuzz, pinned nightly)"
timeout 2400 bash scripts/fuzz.sh --smoke

step "soak, short: 45 s of mixed load, every fault id, every global fault in the warm-up (debug build, >= 500 requests/s)"
SOAK_PROFILE=debug SOAK_MIN_RATE=500 SOAK_SAMPLE_SECS=5 SOAK_MAX_GROWTH=0.3 SOAK_FAULT_MS=500 \
  timeout 900 bash bench/soak.sh 45

step "the README's run command resolves to the gateway binary"
timeout 600 cargo run --locked --quiet -- --version

step "self-hosting: systemd unit (verify, security, syscalls), Dockerfile (hadolint, context), static build (off in CI)"
bash scripts/test-selfhost.sh

step "published Bitrix24 clients (PyPI, npm) against the local server"
bash scripts/test-sdk.sh

step "AWS Lambda adapter: event tests, runtime emulator, cargo lambda watch, template checks"
bash scripts/test-lambda.sh

step "Cloudflare Worker adapter: wasm build, contract suite under wrangler dev"
bash scripts/test-worker.sh

step "Cloudflare Worker: the portal coordinator (Durable Object) shared by two Workers"
bash scripts/test-worker-coordinator.sh

step "all tests passed"
