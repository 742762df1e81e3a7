#!/usr/bin/env bash
# Sets up the machine, builds everything and runs every test, then prints one
# plain summary line, "N passed, N failed", counted from Bazel's per-test results.
# Extra arguments are passed to `bazel test` (e.g. a target pattern).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(//...)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel build //... 2>&1 | tail -n 20
build_rc=${PIPESTATUS[0]}
extra=()
# CI runs every test for real, never from the cache.
[ "${CI:-}" = "true" ] && extra+=(--nocache_test_results)
bazel test --test_summary=short "${extra[@]}" "${targets[@]}" 2>&1 | tee "$log" | grep -E "^//|FAILED|ERROR|error:" || true
test_rc=${PIPESTATUS[0]}

passed=$(grep -cE "^//[^ ]+ +(\(cached\) )?PASSED" "$log" || true)
failed=$(grep -cE "^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)" "$log" || true)
if [ "$build_rc" -ne 0 ] || { [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
  echo "bazel exited with build=$build_rc test=$test_rc"
  failed=$((failed + 1))
fi
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
