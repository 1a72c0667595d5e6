#!/usr/bin/env bash
# The core must build for wasm32 and native with no platform crate. Fails when the core's
# dependency tree (no adapter features) holds tokio beyond `sync`, hyper, reqwest, axum,
# worker or lambda_*. Proves the check itself can fail by running it on an adapter build.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(hyper|hyper-util|reqwest|axum|worker|worker-sys|lambda_http|lambda_runtime|aws_lambda_events|mio) v'

# Prints the offending crates of one feature set; empty when clean.
offenders() {
  local tree
  tree=$(cargo tree --locked --target all -e normal --prefix none "$@")
  grep -E "$forbidden" <<<"$tree" | sort -u || true
  if grep -qE '^tokio v' <<<"$tree"; then
    # tokio is allowed for its `sync` module only (normal edges: dev-dependencies may use more).
    cargo tree --locked --target all -e features,normal --prefix none -i tokio "$@" \
      | grep -oE '^tokio feature "[^"]+"' | grep -vE '"(sync|default)"' | sort -u || true
  fi
}

bad=$(offenders --no-default-features)
if [ -n "$bad" ]; then
  echo "check-core: the core depends on platform crates:" >&2
  echo "$bad" >&2
  exit 1
fi
if [ -z "$(offenders --no-default-features --features native)" ]; then
  echo "check-core: the dependency check found nothing in an adapter build; it is broken" >&2
  exit 1
fi
echo "check-core: core dependency tree is platform-free"

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo build --locked --quiet --lib --no-default-features --target wasm32-unknown-unknown
echo "check-core: core builds for wasm32-unknown-unknown"
