# Sourced by the test and bench scripts: the helpers they share.
#
#   free_port                       a free loopback port (python3)
#   run_one_test FILE NAME [ARGS]   one test of tests/FILE.rs (ignored or not), exactly: fails unless
#                                   exactly one test ran and passed (a misspelt NAME fails)

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_one_test() {
  local file=$1 name=$2 out
  shift 2
  out=$(mktemp)
  if ! timeout 300 cargo test --locked --quiet --test "$file" -- --include-ignored --exact "$name" \
    --nocapture "$@" 2>&1 | tee "$out" >&2; then
    rm -f "$out"
    return 1
  fi
  if ! grep -qE '^test result: ok\. 1 passed' "$out"; then
    printf 'run_one_test: %s::%s ran no test (misspelt?)\n' "$file" "$name" >&2
    rm -f "$out"
    return 1
  fi
  rm -f "$out"
}
