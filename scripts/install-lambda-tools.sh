#!/usr/bin/env bash
# Install the pinned AWS Lambda toolchain into <repo>/.tools (git-ignored).
#
#   1. rust target aarch64-unknown-linux-gnu          (rustup target add)
#   2. .tools/lambda-venv: cargo-lambda + ziglang     (cargo lambda build --arm64)
#   3. .tools/sam-venv:    aws-sam-cli + cfn-lint     (sam validate / sam build / samtranslator)
#   4. .tools/bin/aws-lambda-rie                      (AWS Runtime Interface Emulator, no Docker)
#   5. .tools/moto-venv:   moto[server]               (an S3-speaking server for mirror tests)
#   6. .tools/lambda-env.sh                           (source it: PATH + tool variables)
#
# Idempotent: every step checks the installed version first and is skipped when it is already
# at the pin, so a warm run takes a second or two. Afterwards:
#
#   source .tools/lambda-env.sh
#   cargo lambda build --release --arm64
#   "$SAM_BIN" validate --lint -t template.yaml      # or: scripts/check-template.sh
#
# Never run "$AWS_LAMBDA_RIE" --help: the emulator takes --help as the handler and blocks.
set -euo pipefail

# ---- pins ------------------------------------------------------------------------------------
CARGO_LAMBDA_VERSION=1.9.2
# ziglang: pip resolves the newest (0.17.1 at the time of writing) for cargo-lambda's
# "ziglang>=0.10.0". 0.16.0's `ar` is reported to break aws-lc-sys; 0.14.1 is the pin
# verified here with an aws-lc-sys (C + asm) cross build to aarch64 via cargo-lambda 1.9.2.
ZIGLANG_VERSION=0.14.1
AWS_SAM_CLI_VERSION=1.170.0
CFN_LINT_VERSION=1.58.0
MOTO_VERSION=5.2.6
RUST_TARGET=aarch64-unknown-linux-gnu

# ---- layout (computed from this script's location, so it works in any clone) -----------------
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
LAMBDA_VENV="$TOOLS/lambda-venv"
SAM_VENV="$TOOLS/sam-venv"
MOTO_VENV="$TOOLS/moto-venv"
BIN_DIR="$TOOLS/bin"
CACHE_DIR="$TOOLS/cache"
RIE="$BIN_DIR/aws-lambda-rie"
ENV_FILE="$TOOLS/lambda-env.sh"
PYTHON="${PYTHON:-python3}"   # any Python >= 3.9 to create the venvs from

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

log() { printf '[install-lambda-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

T_ALL=$EPOCHREALTIME
mkdir -p "$TOOLS" "$BIN_DIR" "$CACHE_DIR"

# One installer at a time per clone (the lock fd is not passed on to the tools we run).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS/.install-lambda-tools.lock"
  flock -n 9 || { log "another install-lambda-tools.sh is running; waiting for it"; flock 9; }
fi
nolock() { "$@" 9>&-; }   # run installers without inheriting the lock fd
step_start() { STEP_NAME=$1; STEP_T0=$EPOCHREALTIME; log "== $STEP_NAME"; }
step_end() {
  local status=$1
  log "$(printf '   %-44s %-9s %6.2fs' "$STEP_NAME" "$status" \
    "$(awk -v a="$STEP_T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')")"
}

# Print "name==version" for each distribution installed in a venv (empty if python is broken).
venv_versions() {
  local venv=$1; shift
  [ -x "$venv/bin/python" ] || return 0
  "$venv/bin/python" - "$@" 2>/dev/null <<'PY' || true
import sys
from importlib.metadata import version, PackageNotFoundError
for name in sys.argv[1:]:
    try:
        print(f"{name}=={version(name)}")
    except PackageNotFoundError:
        print(f"{name}==MISSING")
PY
}

# ensure_venv DIR REQ...: make DIR a venv holding exactly the pinned REQs (name[extras]==version;
# the extras are installed, the versions checked).
ensure_venv() {
  local venv=$1; shift
  local want have names=() pins=() r name
  for r in "$@"; do
    name=${r%%==*}
    name=${name%%\[*}
    names+=("$name")
    pins+=("$name==${r##*==}")
  done
  want=$(printf '%s\n' "${pins[@]}")
  have=$(venv_versions "$venv" "${names[@]}")
  if [ "$have" = "$want" ]; then
    step_end "skipped (already $(echo "$want" | paste -sd' '))"
    return 0
  fi
  if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "   creating venv $venv"
    rm -rf "$venv"
    nolock "$PYTHON" -m venv "$venv"
  fi
  log "   pip install $*"
  nolock "$venv/bin/python" -m pip install --quiet "$@"
  have=$(venv_versions "$venv" "${names[@]}")
  [ "$have" = "$want" ] || die "after install, $venv has: $(echo "$have" | paste -sd' ') (wanted: $*)"
  step_end installed
}

"$PYTHON" -c 'import sys, venv; assert sys.version_info >= (3, 9)' 2>/dev/null \
  || die "$PYTHON must be Python >= 3.9 with the venv module (set PYTHON=...)"

# ---- 1. rust target ----------------------------------------------------------------------------
step_start "1. rust target $RUST_TARGET"
command -v rustup >/dev/null 2>&1 || die "rustup not found on PATH"
# Run from the repo root so a rust-toolchain file there (if any) selects the toolchain.
if (cd "$ROOT" && rustup target list --installed) | grep -qx "$RUST_TARGET"; then
  step_end skipped
else
  (cd "$ROOT" && nolock rustup target add "$RUST_TARGET")
  step_end installed
fi

# ---- 2. cargo-lambda venv -----------------------------------------------------------------------
step_start "2. lambda-venv (cargo-lambda, ziglang)"
ensure_venv "$LAMBDA_VENV" "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"

# ---- 3. SAM venv ---------------------------------------------------------------------------------
step_start "3. sam-venv (aws-sam-cli, cfn-lint)"
ensure_venv "$SAM_VENV" "aws-sam-cli==$AWS_SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION"

# ---- 4. Runtime Interface Emulator --------------------------------------------------------------
step_start "4. aws-lambda-rie (from aws-sam-cli $AWS_SAM_CLI_VERSION)"
case "$(uname -m)" in
  x86_64|amd64) RIE_ARCH=x86_64 ;;
  aarch64|arm64) RIE_ARCH=arm64 ;;
  *) die "no aws-lambda-rie build for $(uname -m)" ;;
esac
RIE_MEMBER="samcli/local/rapid/aws-lambda-rie-$RIE_ARCH"
RIE_STAMP="$BIN_DIR/.aws-lambda-rie.source"
RIE_ID="aws-sam-cli==$AWS_SAM_CLI_VERSION $RIE_MEMBER"
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
if [ -x "$RIE" ] && [ -f "$RIE_STAMP" ] \
   && [ "$(cat "$RIE_STAMP")" = "$RIE_ID sha256=$(sha256_of "$RIE")" ]; then
  step_end skipped
else
  # The sam venv (step 3, same pinned version) already holds the member; else take the wheel.
  src=$(compgen -G "$SAM_VENV/lib/python3*/site-packages/$RIE_MEMBER" | head -n1 || true)
  tmp="$RIE.tmp.$$"
  if [ -n "$src" ] && [ -f "$src" ]; then
    log "   copying $src"
    cp "$src" "$tmp"
  else
    log "   pip download aws-sam-cli==$AWS_SAM_CLI_VERSION --no-deps"
    nolock "$PYTHON" -m pip download --quiet --no-deps --dest "$CACHE_DIR" "aws-sam-cli==$AWS_SAM_CLI_VERSION"
    whl=$(compgen -G "$CACHE_DIR/aws_sam_cli-$AWS_SAM_CLI_VERSION-*.whl" | head -n1) \
      || die "aws-sam-cli wheel not found in $CACHE_DIR"
    "$PYTHON" - "$whl" "$RIE_MEMBER" "$tmp" <<'PY'
import shutil, sys, zipfile
whl, member, dest = sys.argv[1:]
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
PY
  fi
  [ "$(head -c4 "$tmp" | od -An -c | tr -d ' ')" = '177ELF' ] || { rm -f "$tmp"; die "$RIE_MEMBER is not an ELF binary"; }
  chmod 0755 "$tmp"
  mv -f "$tmp" "$RIE"
  echo "$RIE_ID sha256=$(sha256_of "$RIE")" > "$RIE_STAMP"
  step_end installed
fi

# ---- 5. moto venv --------------------------------------------------------------------------------
step_start "5. moto-venv (moto[server])"
ensure_venv "$MOTO_VENV" "moto[server]==$MOTO_VERSION"

# ---- 6. env file -----------------------------------------------------------------------------------
step_start "6. $ENV_FILE"
q() { printf '%q' "$1"; }
new_env=$(cat <<EOF
# Generated by scripts/install-lambda-tools.sh -- do not edit; rerun the script instead.
# Usage: source .tools/lambda-env.sh
# cargo-lambda finds zig through the first python3 on PATH, so the lambda venv goes FIRST.
# (No "activate": the sam venv stays off PATH; call it through \$SAM_BIN / \$SAM_PYTHON.)
_lt_bin=$(q "$LAMBDA_VENV/bin")
# Plain POSIX sh (works in bash, zsh, dash); re-sourcing moves the entry back to the front.
_lt_rest="\${PATH:-}"; _lt_new="\$_lt_bin"
while [ -n "\$_lt_rest" ]; do
  _lt_p="\${_lt_rest%%:*}"
  case "\$_lt_rest" in *:*) _lt_rest="\${_lt_rest#*:}" ;; *) _lt_rest= ;; esac
  [ -z "\$_lt_p" ] || [ "\$_lt_p" = "\$_lt_bin" ] || _lt_new="\$_lt_new:\$_lt_p"
done
export PATH="\$_lt_new"
unset _lt_bin _lt_rest _lt_new _lt_p

export LAMBDA_TOOLS_DIR=$(q "$TOOLS")
export SAM_BIN=$(q "$SAM_VENV/bin/sam")
export CFN_LINT_BIN=$(q "$SAM_VENV/bin/cfn-lint")
export SAM_PYTHON=$(q "$SAM_VENV/bin/python")
export AWS_LAMBDA_RIE=$(q "$RIE")
export MOTO_SERVER_BIN=$(q "$MOTO_VENV/bin/moto_server")
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
EOF
)
if [ -f "$ENV_FILE" ] && [ "$(cat "$ENV_FILE")" = "$new_env" ]; then
  step_end "skipped (unchanged)"
else
  printf '%s\n' "$new_env" > "$ENV_FILE.tmp.$$"
  mv -f "$ENV_FILE.tmp.$$" "$ENV_FILE"
  step_end written
fi

# ---- sanity check (cheap) -------------------------------------------------------------------------
(
  # shellcheck source=/dev/null
  source "$ENV_FILE"
  [ "$(command -v python3)" = "$LAMBDA_VENV/bin/python3" ] || die "python3 on PATH is not the lambda venv's"
  for f in "$SAM_BIN" "$CFN_LINT_BIN" "$SAM_PYTHON" "$AWS_LAMBDA_RIE" "$LAMBDA_VENV/bin/cargo-lambda" "$MOTO_SERVER_BIN"; do
    [ -x "$f" ] || die "missing or not executable: $f"
  done
)

log "$(printf 'done in %.2fs -- now: source %s' \
  "$(awk -v a="$T_ALL" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "${ENV_FILE#"$ROOT"/}")"
