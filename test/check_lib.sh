# Counting checks in shell tests; sourced, not run.
#   fail MESSAGE   records a failed check (and prints it)
#   finish         exits 1 if any check failed, else 0
# shellcheck shell=bash
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
