#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (--config=fuzz) and runs each
# for SECONDS (default 60), printing per target the executions, the crashes,
# any crash file and the slowest input when one took over 10 s, then
# "N targets, N crashed". Exits non-zero when a target
# crashed (a memory error, undefined behaviour, a broken property check, an
# out-of-memory or a timeout). docs/reliability.md has the details.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]        e.g. scripts/fuzz.sh 600 jpeg_fuzzer
#
# Environment:
#   FUZZ_JOBS     targets run at once (default 1; each uses one core)
#   FUZZ_WORKDIR  where each target's working corpus, log and crash files go
#                 (default ~/.cache/tessera/fuzz). Runs start from the committed
#                 seeds (fuzz/corpus/<target>) plus what earlier runs found;
#                 new inputs never go back into the repository by themselves.
#
# The build has its own Bazel output base (~/.cache/tessera/bazel-fuzz-*):
# switching CC to clang reconfigures Bazel's C++ toolchain, which would
# otherwise throw away the analysis of the normal gcc build every time.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

seconds=60
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then seconds="$1"; shift; fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls fuzz/*_fuzzer.cc | sed 's|fuzz/\(.*\)\.cc|\1|')
fi
jobs="${FUZZ_JOBS:-1}"
workdir="${FUZZ_WORKDIR:-$HOME/.cache/tessera/fuzz}"

scripts/setup.sh > /dev/null || { echo "setup failed"; exit 1; }

output_base="$HOME/.cache/tessera/bazel-fuzz-$(echo -n "$repo" | md5sum | cut -c1-8)"
bazel_fuzz() { bazel --output_base="$output_base" "$@"; }
labels=()
for t in "${targets[@]}"; do labels+=("//fuzz:$t"); done
mkdir -p "$workdir"
echo "building ${#targets[@]} fuzz targets with clang (--config=fuzz)"
bazel_fuzz build --config=fuzz --symlink_prefix=/ "${labels[@]}" > "$workdir/build.log" 2>&1
build_rc=$?
# (gold warns about every ASan helper symbol; those lines say nothing.)
grep -v "Cannot export local symbol" "$workdir/build.log" | tail -n 5
if [ "$build_rc" -ne 0 ]; then echo "fuzz build failed (log: $workdir/build.log)"; exit 1; fi
bin=$(bazel_fuzz info --config=fuzz bazel-bin 2>/dev/null)/fuzz

# run_target NAME: one libFuzzer run; writes NAME/result ("execs crashes file").
run_target() {
  local t="$1" dir="$workdir/$1"
  mkdir -p "$dir/corpus" "$dir/crashes" "$dir/tmp"
  rm -rf "$dir/tmp"/* "$dir/result"
  local started dict=()
  started=$(date +%s)
  [ -f "$repo/fuzz/dicts/$t.dict" ] && dict=(-dict="$repo/fuzz/dicts/$t.dict")
  # -rss_limit_mb / -malloc_limit_mb: 2 GiB, libFuzzer's default, made explicit;
  # -timeout: an input that takes 25 s is a hang.
  (cd "$dir" && TMPDIR="$dir/tmp" \
    ASAN_OPTIONS="detect_leaks=1:external_symbolizer_path=/usr/bin/llvm-symbolizer" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:external_symbolizer_path=/usr/bin/llvm-symbolizer" \
    "$bin/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$dir/crashes/" "${dict[@]}" \
      "$dir/corpus" "$repo/fuzz/corpus/$t" > "$dir/log" 2>&1)
  local rc=$?
  local execs crash slow
  execs=$(grep -aE "^stat::number_of_executed_units:" "$dir/log" | awk '{print $2}' | tail -n 1)
  # Crash, leak, timeout and OOM files; a "slow-unit" (an input over 10 s but
  # under -timeout) is only noted.
  crash=$(grep -aoE "Test unit written to [^ ]+" "$dir/log" | sed 's/Test unit written to //' \
    | grep -v "/slow-unit-" | tail -n 1)
  slow=$(grep -aoE "Slowest unit: [0-9]+ s" "$dir/log" | tail -n 1 | awk '{print $3}')
  local crashed=0
  if [ "$rc" -ne 0 ] || [ -n "$crash" ]; then crashed=1; fi
  echo "${execs:-0} $crashed ${crash:--} $(( $(date +%s) - started )) ${slow:--}" > "$dir/result"
  rm -rf "$dir/tmp"
}

running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

crashed_targets=0
printf "%-24s %8s %12s %8s %9s  %s\n" target seconds executions crashes "slowest" "crash file"
for t in "${targets[@]}"; do
  read -r execs crashed crash took slow < "$workdir/$t/result"
  printf "%-24s %8s %12s %8s %9s  %s\n" "$t" "$took" "$execs" "$crashed" \
    "$([ "$slow" = "-" ] && echo "-" || echo "${slow} s")" "$crash"
  if [ "$crashed" -ne 0 ]; then
    crashed_targets=$((crashed_targets + 1))
    [ "$crash" = "-" ] && echo "  (no crash file; see $workdir/$t/log)"
  fi
done
echo "${#targets[@]} targets, ${crashed_targets} crashed"
[ "$crashed_targets" -eq 0 ]
