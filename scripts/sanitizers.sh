#!/usr/bin/env bash
# Runs the test suite under the sanitizers (docs/reliability.md) and prints,
# per suite and in total, one plain line "N passed, N failed" counted from
# Bazel's per-test results, as scripts/test.sh does.
#
#   scripts/sanitizers.sh [asan|asan-ci|tsan|all] [bazel test arguments]
#
#   asan     every test, in --config=asan (AddressSanitizer + UBSan, gcc)
#   asan-ci  the ASan CI set (below), in --config=asan: what CI runs
#   tsan     the tests of our concurrent code (TSAN_TARGETS below), in --config=tsan
#   all      asan and tsan (the default)
#
# Extra arguments go to `bazel test` (e.g. --nocache_test_results, or target
# patterns, which then replace the suite's own). With CI=true every test runs
# for real, never from the cache. Exits non-zero when a test fails.
set -uo pipefail
cd "$(dirname "$0")/.."

# ThreadSanitizer: tests of the code that runs threads of its own (ps store,
# sessions and waits, the sync accumulator, ParallelRunner and the model's
# split batches, the batch prefetcher and JPEG decode threads, the checkpoint
# saver, the summary writer, the signal watcher, the worker's parallel pulls
# and pushes, the in-process trainer, tessera_records' writer threads).
# None of them starts gRPC: Debian's gRPC is not instrumented, so tests that
# run a gRPC server or channel stay out (its threads' synchronization would be
# invisible to TSan). Abseil's mutexes are annotated
# (third_party/sanitizers/tsan_absl_annotations.cc).
TSAN_TARGETS=(
  //third_party/sanitizers:tsan_absl_annotations_test
  //common:parallel_runner_test
  //common:clock_test
  //common:signal_watcher_test
  //common/rpc:shared_segment_test
  //worker:tensor_memory_test
  //worker:client_segments_test
  //common:fault_file_system_test
  //common/records:summary_writer_test
  //nn:model_split_test
  //nn:model_regularization_test
  //common/checkpoint:all
  //ps:all
  -//ps:tessera_ps_flags_test  # starts tessera_ps, whose gRPC server TSan cannot see
  //data:batch_prefetcher_test
  //data:batch_pipeline_test
  //data:input_test
  //worker:ps_group_test
  //worker:ps_group_moving_average_test
  //worker:ps_recovery_test
  //worker:local_trainer_test
  //worker:worker_test
  //worker/hooks:all
  //test:in_memory_ps_test
  //tools:records_builder_test
  //tools:records_progress_test
)

# The ASan CI set (scripts/test.sh runs it in CI, docs/reliability.md "In
# CI"): every C++ unit test (kind cc_test: the parsers, the ps store and its
# sessions, checkpoints, records, the data pipeline, the layers, the worker
# against the in-memory ps, the in-process gRPC services; each takes seconds
# under ASan), and two multi-process tests that take the daemons (tessera_ps,
# tessera_worker, tessera_ctl) through start, TLS, training and exit, so that
# a leak or memory error in a daemon fails. Left out: the other 24 shell and
# Python tests. The multi-process fault, launch, security and chaos tests take
# 10 s to 6 minutes each under ASan (22 minutes of test time; 13 minutes on 2
# cores with their daemons' build, measured at load average 10), which would
# take CI from a cold cache past a safe margin under its 90 minutes on a
# loaded machine (docs/reliability.md, "In CI"); the Python tests run no C++
# of ours. `scripts/sanitizers.sh asan` runs them all.
ASAN_CI_QUERY='kind(cc_test, //...)'
ASAN_CI_EXTRA=(//test:cluster_lab_test //test:ctl_wait_tls_test)

suite="all"
case "${1:-}" in
  asan|asan-ci|tsan|all) suite="$1"; shift ;;
esac

scripts/setup.sh > /dev/null || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

extra=()
patterns=()
for arg in "$@"; do
  case "$arg" in
    -*) extra+=("$arg") ;;
    *) patterns+=("$arg") ;;
  esac
done
[ "${CI:-}" = "true" ] && extra+=(--nocache_test_results)

total_passed=0
total_failed=0

# run_suite NAME CONFIG TARGET...: bazel test in CONFIG, then the summary line.
run_suite() {
  local name="$1" config="$2"
  shift 2
  local log start rc passed failed
  log=$(mktemp)
  start=$(date +%s)
  echo "== ${name}: bazel test --config=${config} $*"
  bazel test --config="$config" --keep_going --build_tests_only --test_summary=short \
    "${extra[@]}" -- "$@" 2>&1 | tee "$log" | grep -E "^//|FAILED|ERROR|error:|SUMMARY" || true
  rc=${PIPESTATUS[0]}
  passed=$(grep -cE "^//[^ ]+ +(\(cached\) )?PASSED" "$log" || true)
  failed=$(grep -cE "^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)" "$log" || true)
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "bazel exited with $rc"
    failed=$((failed + 1))
  fi
  rm -f "$log"
  echo "${name}: ${passed} passed, ${failed} failed ($(( $(date +%s) - start )) s)"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

if [ "$suite" = "asan" ] || [ "$suite" = "all" ]; then
  if [ ${#patterns[@]} -gt 0 ]; then run_suite asan asan "${patterns[@]}"
  else run_suite asan asan //...; fi
fi
if [ "$suite" = "asan-ci" ]; then
  if [ ${#patterns[@]} -gt 0 ]; then run_suite asan-ci asan "${patterns[@]}"
  elif ! asan_ci=$(bazel query "$ASAN_CI_QUERY" 2> /dev/null); then
    echo "bazel query '$ASAN_CI_QUERY' failed (run it to see why)"
    total_failed=$((total_failed + 1))
  else
    mapfile -t asan_ci_targets <<< "$asan_ci"
    run_suite asan-ci asan "${asan_ci_targets[@]}" "${ASAN_CI_EXTRA[@]}"
  fi
fi
if [ "$suite" = "tsan" ] || [ "$suite" = "all" ]; then
  if [ ${#patterns[@]} -gt 0 ]; then run_suite tsan tsan "${patterns[@]}"
  else run_suite tsan tsan "${TSAN_TARGETS[@]}"; fi
fi

echo "${total_passed} passed, ${total_failed} failed"
[ "$total_failed" -eq 0 ]
