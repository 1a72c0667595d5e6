#!/usr/bin/env bash
# Fuzzes the gateway's parsers with cargo-fuzz (libFuzzer) on a pinned nightly toolchain.
#
#   bash scripts/fuzz.sh --smoke [TARGET...]   # CI: replay the seeds, then a few seconds each
#   bash scripts/fuzz.sh --full  [TARGET...]   # at least 1,000,000 executions per target
#   bash scripts/fuzz.sh --list                # the targets
#
# The targets live in fuzz/ (its own package and Cargo.lock, not part of the main package);
# each file in fuzz/fuzz_targets/ says what it feeds and what it asserts. The seeds in
# fuzz/seeds/TARGET/ are committed (small; fuzz/make_seeds.py writes them); what a run adds goes
# to fuzz/corpus/TARGET/ and a crashing input to fuzz/artifacts/TARGET/, both ignored by git.
#
# What it installs, idempotently:
#   - the nightly toolchain FUZZ_TOOLCHAIN with rustup (into rustup's own home, outside the
#     repo). If rustup cannot fetch it, it falls back to the stable toolchain with
#     RUSTC_BOOTSTRAP=1 (cargo-fuzz passes nightly-only -Z flags) and says so;
#   - cargo-fuzz CARGO_FUZZ_VERSION into .tools/fuzz/ (ignored by git).
#
# Every run is bounded: libFuzzer's -max_total_time and -timeout (per input), and `timeout`
# around each process. Exit code 0 only when every target ran without a crash (and, in --full,
# reached FUZZ_RUNS executions). The closing table gives executions, seconds and crashes.
#
# Knobs: FUZZ_SMOKE_SECS (default 5) fuzzing seconds per target in --smoke;
#        FUZZ_RUNS (default 1000000) executions per target in --full;
#        FUZZ_MAX_SECS (default 1800) the most one target may take in --full.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

FUZZ_TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly-2026-05-20}
CARGO_FUZZ_VERSION=0.13.2
SMOKE_SECS=${FUZZ_SMOKE_SECS:-5}
RUNS=${FUZZ_RUNS:-1000000}
MAX_SECS=${FUZZ_MAX_SECS:-1800}
TOOLS=$ROOT/.tools/fuzz
export CARGO_TERM_COLOR=never

mode=${1:-}
shift || true
targets=("$@")
all_targets() { sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^b24-stock-gateway-fuzz$'; }
if [ "$mode" = --list ]; then all_targets; exit 0; fi
case "$mode" in
  --smoke | --full) ;;
  *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(all_targets)

# ---- toolchain and engine ----------------------------------------------------------------
mkdir -p "$TOOLS"
toolchain=(+"$FUZZ_TOOLCHAIN")
if ! rustup run "$FUZZ_TOOLCHAIN" rustc --version >/dev/null 2>&1 \
  && ! timeout 600 rustup toolchain install "$FUZZ_TOOLCHAIN" --profile minimal >"$TOOLS/toolchain.log" 2>&1; then
  echo "fuzz: rustup could not install $FUZZ_TOOLCHAIN (.tools/fuzz/toolchain.log);" \
    "falling back to stable with RUSTC_BOOTSTRAP=1" >&2
  toolchain=(+stable)
  export RUSTC_BOOTSTRAP=1
fi
if ! "$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools/fuzz (about a minute)"
  CARGO_TARGET_DIR="$TOOLS/build" timeout 900 cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" \
    --locked --root "$TOOLS" >"$TOOLS/install.log" 2>&1 || { cat "$TOOLS/install.log" >&2; exit 1; }
  rm -rf "$TOOLS/build"
fi
export PATH=$TOOLS/bin:$PATH
echo "fuzz: $(cargo "${toolchain[@]}" --version), $(rustc "${toolchain[@]}" --version), $(cargo-fuzz --version)"

# ---- build ---------------------------------------------------------------------------------
# One build for every target: optimised, with debug assertions and AddressSanitizer (cargo-fuzz's
# defaults); 16 codegen units build in about half the time of cargo-fuzz's default of 1 on
# this 2-core machine. `cargo fuzz run` gets the same flags, or it would build again.
build_flags=(--fuzz-dir fuzz -O --codegen-units 16)
started=$SECONDS
one=()
[ ${#targets[@]} -ne 1 ] || one=("${targets[0]}")
timeout 1800 cargo "${toolchain[@]}" fuzz build "${build_flags[@]}" "${one[@]}" >"$TOOLS/build.log" 2>&1 || { tail -50 "$TOOLS/build.log" >&2; exit 1; }
echo "fuzz: built in $(( SECONDS - started )) s"

# ---- run -----------------------------------------------------------------------------------
if [ "$mode" = --smoke ]; then
  limits=(-max_total_time="$SMOKE_SECS")
  cap=$(( SMOKE_SECS + 120 ))
else
  limits=(-runs="$RUNS" -max_total_time="$MAX_SECS")
  cap=$(( MAX_SECS + 120 ))
fi
LOGS=$ROOT/fuzz/artifacts/logs
mkdir -p "$LOGS"
failed=0
rows=()
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log=$LOGS/$target.log
  found_before=$(find "fuzz/artifacts/$target" -type f | wc -l)
  t0=$SECONDS
  set +e
  # The first folder takes what the run finds; the seeds are only read.
  timeout "$cap" cargo "${toolchain[@]}" fuzz run "${build_flags[@]}" "$target" \
    "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    "${limits[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1
  code=$?
  set -e
  secs=$(( SECONDS - t0 ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # libFuzzer writes one file per crash, leak, timeout or out-of-memory input.
  crashes=$(( $(find "fuzz/artifacts/$target" -type f | wc -l) - found_before ))
  verdict=ok
  if [ "$code" -ne 0 ]; then
    verdict="FAILED (exit $code)"
    crashes=$(( crashes > 0 ? crashes : 1 ))
    tail -40 "$log" >&2
  elif [ "$mode" = --full ] && [ "${execs:-0}" -lt "$RUNS" ]; then
    verdict="FAILED (fewer than $RUNS executions)"
  fi
  [ "$verdict" = ok ] || failed=1
  rows+=("$(printf '%-14s %12s %7s %8s  %s' "$target" "${execs:-?}" "$secs" "$crashes" "$verdict")")
done

printf '\n%-14s %12s %7s %8s  %s\n' target executions seconds crashes result
printf '%s\n' "${rows[@]}"
[ "$failed" -eq 0 ] && echo "fuzz: all ${#targets[@]} targets passed ($mode)" || echo "fuzz: FAILED" >&2
exit "$failed"
