# The environments the benchmarks try for their PyTorch references, so that
# each reference runs at its best configuration on this machine
# (docs/benchmarks.md, "Why the benchmarks are built this way"). Sourced, not
# run.
#   openblas_timeouts   the OpenBLAS timeout modes to try: "spin" (OpenBLAS's
#                       default: idle threads spin ~0.1 s after a product) and
#                       "sleep" (OPENBLAS_THREAD_TIMEOUT=4, what Tessera's
#                       programs set for themselves, nn/blas_kernel.h); only
#                       "user" when this environment sets OPENBLAS_THREAD_TIMEOUT,
#                       which then holds for both sides
#   other_mallocs       the allocators tried besides glibc's: "jemalloc" and
#                       "tcmalloc", preloaded (bench/reference_mallocs.txt says
#                       how and why); scripts/setup.sh installs both, and
#                       sourcing fails naming a missing one
#   reference_env MALLOC(default|tuned|jemalloc|tcmalloc) TIMEOUT(spin|sleep|user)
#                       sets the array `reference_envs` to the variables for
#                       `env`: MALLOC's line of bench/reference_mallocs.txt
#                       (glibc malloc's fixed thresholds for "tuned", as
#                       Tessera's daemons fix theirs, common/malloc_tuning.h;
#                       the preloaded allocator for "jemalloc" and "tcmalloc"),
#                       OPENBLAS_THREAD_TIMEOUT=4 for "sleep"
# OpenBLAS's kernel: a set OPENBLAS_CORETYPE holds for both sides. Unset, and
# this machine's OpenBLAS falling back to a generic core on a CPU it does not
# know (0.3.21 picks Prescott on recent Xeons), sourcing exports the
# OPENBLAS_CORETYPE Tessera's programs choose for themselves (SkylakeX or
# Haswell, nn/blas_kernel.h, EnsureBlasKernel; bench/blas_core_choice asks
# the same code), which PyTorch's linear layers would otherwise not get.
# shellcheck shell=bash disable=SC2034  # the arrays are read by the sourcing scripts
if [ -n "${OPENBLAS_THREAD_TIMEOUT+set}" ]; then
  openblas_timeouts=(user)
else
  openblas_timeouts=(spin sleep)
fi

reference_env_dir="$(dirname "${BASH_SOURCE[0]}")"
# MALLOC's variables: its line of reference_mallocs.txt, after the name.
reference_malloc_vars() {
  local vars
  vars=$(awk -v name="$1" '{ sub(/#.*/, "") } $1 == name { $1 = ""; print; found = 1 }
                           END { exit !found }' "$reference_env_dir/reference_mallocs.txt") || {
    echo "bench/reference_env.sh: no malloc setting '$1' in" \
      "$reference_env_dir/reference_mallocs.txt" >&2
    return 2
  }
  echo "$vars"
}
other_mallocs=(jemalloc tcmalloc)
# Fails naming a preloaded library of other_mallocs that is not installed (a
# function, so that its variables stay out of the sourcing script's).
reference_check_preloads() {
  local malloc vars var
  for malloc in "${other_mallocs[@]}"; do
    vars=$(reference_malloc_vars "$malloc") || return 2
    for var in $vars; do
      if [ "${var%%=*}" = LD_PRELOAD ] && [ ! -f "${var#*=}" ]; then
        echo "bench/reference_env.sh: ${var#*=} is missing: the PyTorch references try it" \
          "(run scripts/setup.sh, which installs libjemalloc2 and libtcmalloc-minimal4)" >&2
        return 2
      fi
    done
  done
}
reference_check_preloads || return 2

if [ -z "${OPENBLAS_CORETYPE+set}" ]; then
  # The choice of Tessera's own programs (bazel-bin when the script runs from
  # the workspace, else beside this file in the runfiles).
  blas_core_choice_bin=bazel-bin/bench/blas_core_choice
  [ -x "$blas_core_choice_bin" ] || blas_core_choice_bin="$reference_env_dir/blas_core_choice"
  blas_core_choice=$("$blas_core_choice_bin") || {
    echo "bench/reference_env.sh: $blas_core_choice_bin failed" \
      "(bazel build //bench:blas_core_choice)" >&2
    return 2
  }
  if [ "$(head -n 1 <<< "$blas_core_choice")" != - ]; then
    export OPENBLAS_CORETYPE="$(head -n 1 <<< "$blas_core_choice")"
    echo "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for both sides, as Tessera's programs choose" \
      "($(tail -n 1 <<< "$blas_core_choice"))"
  fi
fi

reference_env() {
  reference_envs=()
  local vars var
  vars=$(reference_malloc_vars "$1") || return 2
  for var in $vars; do reference_envs+=("$var"); done
  if [ "$2" = sleep ]; then reference_envs+=(OPENBLAS_THREAD_TIMEOUT=4); fi
}
