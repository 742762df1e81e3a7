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
#   reference_env MALLOC(default|tuned) TIMEOUT(spin|sleep|user)
#                       sets the array `reference_envs` to the variables for
#                       `env`: glibc malloc's fixed thresholds for "tuned" (as
#                       Tessera's daemons fix theirs, common/malloc_tuning.h),
#                       OPENBLAS_THREAD_TIMEOUT=4 for "sleep"
# shellcheck shell=bash disable=SC2034  # the arrays are read by the sourcing scripts
if [ -n "${OPENBLAS_THREAD_TIMEOUT+set}" ]; then
  openblas_timeouts=(user)
else
  openblas_timeouts=(spin sleep)
fi

reference_env() {
  reference_envs=()
  if [ "$1" = tuned ]; then
    reference_envs+=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=134217728)
  fi
  if [ "$2" = sleep ]; then reference_envs+=(OPENBLAS_THREAD_TIMEOUT=4); fi
}
