#!/usr/bin/env bash
# Sets up the machine, builds everything and runs every test, then prints one
# plain summary line, "N passed, N failed", counted from Bazel's per-test results.
# Extra arguments are passed to `bazel test` (e.g. a target pattern).
#
# SANITIZERS=1 (with no arguments) is what CI runs (.ci/run; docs/reliability.md,
# "In CI"). After the suite it runs, in this order:
#   1. the ASan CI set (scripts/sanitizers.sh asan-ci: every C++ unit test and
#      two multi-process tests, under AddressSanitizer + UBSan; the whole suite
#      under ASan does not fit CI's time, see sanitizers.sh);
#   2. the ThreadSanitizer set (scripts/sanitizers.sh tsan);
#   3. every fuzz target for CI_FUZZ_SECONDS seconds (default 20), FUZZ_JOBS
#      (default 2) at a time (scripts/fuzz.sh).
# Each test and each fuzz target counts in the summary line (a crashed target as
# a failure), and a line before it gives each part's seconds. From nothing (no
# Bazel caches) on 2 cores it took 67 minutes with a full ASan run beside it,
# about 15 with warm caches (docs/reliability.md, "In CI"); CI allows 90.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(//...)

log=$(mktemp)
# What failed, kept for the end of the output: CI shows only its last lines.
failures=$(mktemp)
trap 'rm -f "$log" "$failures"' EXIT
part_start=$(date +%s)
times=""
# end_part NAME: notes the seconds since the last part ended.
end_part() {
  local now
  now=$(date +%s)
  times+="${times:+, }$1 $((now - part_start)) s"
  part_start=$now
}

bazel build //... 2>&1 | tail -n 20
build_rc=${PIPESTATUS[0]}
extra=()
# CI runs every test for real, never from the cache.
[ "${CI:-}" = "true" ] && extra+=(--nocache_test_results)
bazel test --test_summary=short "${extra[@]}" "${targets[@]}" 2>&1 | tee "$log" | grep -E "^//|FAILED|ERROR|error:" || true
test_rc=${PIPESTATUS[0]}

# failed_labels: the labels of the tests $log shows failed, one a line.
failed_labels() {
  sed -nE 's#^(//[^ ]+) +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY).*#\1#p' "$log"
}

passed=$(grep -cE "^//[^ ]+ +(\(cached\) )?PASSED" "$log" || true)
failed=$(failed_labels | wc -l)
if [ "$build_rc" -ne 0 ] || { [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
  echo "bazel exited with build=$build_rc test=$test_rc"
  failed=$((failed + 1))
fi
end_part suite

# The suite's failed tests with the end of each one's log (read now, before the
# sanitizer builds point bazel-testlogs elsewhere).
testlogs="$(bazel info bazel-testlogs 2> /dev/null)"
while read -r label; do
  echo "suite: $label" >> "$failures"
  test_log="$testlogs/$(sed 's|^//||; s|:|/|' <<< "$label")/test.log"
  [ -f "$test_log" ] && tail -n 25 "$test_log" | sed 's/^/    /' >> "$failures"
done < <(failed_labels)

# run_part COMMAND...: runs COMMAND, its output shown and kept in $log; sets
# part_line to its last line. (Not `tee /dev/stderr`: when the output goes to
# a file, tee would open that file again, truncated, and clobber the log.)
run_part() {
  "$@" 2>&1 | tee "$log"
  part_line="$(tail -n 1 "$log")"
}

# note_failed NAME: adds the tests $log shows failed to the list printed at
# the end.
note_failed() {
  failed_labels | sed "s#^#$1: #" >> "$failures"
}

# add_sanitizer_counts NAME: adds part_line, a sanitizers.sh summary line
# ("N passed, N failed"), to the totals; any other line is one failure.
add_sanitizer_counts() {
  if [[ "$part_line" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
  else
    echo "sanitizers.sh $1 gave no summary"; failed=$((failed + 1))
  fi
}

if [ "${SANITIZERS:-0}" = "1" ] && [ $# -eq 0 ]; then
  run_part scripts/sanitizers.sh asan-ci
  add_sanitizer_counts asan-ci
  note_failed asan-ci
  end_part asan-ci
  run_part scripts/sanitizers.sh tsan
  add_sanitizer_counts tsan
  note_failed tsan
  end_part tsan
  run_part env FUZZ_JOBS="${FUZZ_JOBS:-2}" nice -n 10 scripts/fuzz.sh "${CI_FUZZ_SECONDS:-20}"
  if [[ "$part_line" =~ ^([0-9]+)\ targets,\ ([0-9]+)\ crashed$ ]]; then
    passed=$((passed + BASH_REMATCH[1] - BASH_REMATCH[2]))
    failed=$((failed + BASH_REMATCH[2]))
    # fuzz.sh's table: "target seconds executions crashes slowest crash-file".
    awk 'NF == 6 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ && $4 ~ /^[1-9][0-9]*$/ {
      print "fuzz: " $1 " crashed: " $6 }' "$log" >> "$failures"
  else
    echo "fuzz.sh gave no summary"; failed=$((failed + 1))
  fi
  end_part fuzz
fi
if [ -s "$failures" ]; then
  echo "test.sh: what failed (suite tests with the end of their logs):"
  cat "$failures"
fi
echo "test.sh: ${times}"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
