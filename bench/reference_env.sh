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
#   other_mallocs       the allocators tried besides glibc's: "jemalloc"
#                       (libjemalloc2, preloaded, with MALLOC_CONF
#                       dirty_decay_ms:-1,muzzy_decay_ms:-1: it keeps freed
#                       pages, since with its default decay PyTorch's
#                       ResNet-18 trained 3x slower) and "tcmalloc"
#                       (libtcmalloc-minimal4, preloaded); scripts/setup.sh
#                       installs both, and sourcing fails naming a missing one
#   reference_env MALLOC(default|tuned|jemalloc|tcmalloc) TIMEOUT(spin|sleep|user)
#                       sets the array `reference_envs` to the variables for
#                       `env`: glibc malloc's fixed thresholds for "tuned" (as
#                       Tessera's daemons fix theirs, common/malloc_tuning.h),
#                       the preloaded allocator for "jemalloc" and "tcmalloc",
#                       OPENBLAS_THREAD_TIMEOUT=4 for "sleep"
# OpenBLAS's kernel: a set OPENBLAS_CORETYPE holds for both sides. Unset, and
# this machine's OpenBLAS falling back to a generic core on a CPU it does not
# know (0.3.21 picks Prescott on recent Xeons) while the CPU has AVX-512 or
# AVX2, sourcing exports OPENBLAS_CORETYPE=SkylakeX or Haswell for both sides:
# the very choice Tessera's programs make for themselves (nn/blas_kernel.h,
# EnsureBlasKernel), which PyTorch's linear layers would otherwise not get.
# shellcheck shell=bash disable=SC2034  # the arrays are read by the sourcing scripts
if [ -n "${OPENBLAS_THREAD_TIMEOUT+set}" ]; then
  openblas_timeouts=(user)
else
  openblas_timeouts=(spin sleep)
fi

jemalloc_lib=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
tcmalloc_lib=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
for lib in "$jemalloc_lib" "$tcmalloc_lib"; do
  if [ ! -f "$lib" ]; then
    echo "bench/reference_env.sh: $lib is missing: the PyTorch references try it" \
      "(run scripts/setup.sh, which installs libjemalloc2 and libtcmalloc-minimal4)" >&2
    return 2
  fi
done
other_mallocs=(jemalloc tcmalloc)

if [ -z "${OPENBLAS_CORETYPE+set}" ]; then
  blas_chosen_core=$(python3 -c '
import ctypes
lib = ctypes.CDLL("libopenblas.so.0")
lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_corename().decode())') || {
    echo "bench/reference_env.sh: could not ask libopenblas.so.0 for its core" \
      "(run scripts/setup.sh)" >&2
    return 2
  }
  case "${blas_chosen_core,,}" in
    prescott|core2|penryn|dunnington|nehalem|atom|generic|katmai|coppermine|northwood|banias|unknown|"")
      cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo)
      if [[ " $cpu_flags " == *" avx512f "* ]]; then
        export OPENBLAS_CORETYPE=SkylakeX
      elif [[ " $cpu_flags " == *" avx2 "* ]]; then
        export OPENBLAS_CORETYPE=Haswell
      fi
      if [ -n "${OPENBLAS_CORETYPE+set}" ]; then
        echo "OpenBLAS falls back to its generic core $blas_chosen_core on this CPU:" \
          "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for both sides (as Tessera's programs choose)"
      fi
      ;;
  esac
fi

reference_env() {
  reference_envs=()
  case "$1" in
    default) ;;
    tuned) reference_envs+=(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=134217728) ;;
    jemalloc) reference_envs+=(LD_PRELOAD="$jemalloc_lib"
                               MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1) ;;
    tcmalloc) reference_envs+=(LD_PRELOAD="$tcmalloc_lib") ;;
    *) echo "reference_env: unknown malloc '$1'" >&2; return 2 ;;
  esac
  if [ "$2" = sleep ]; then reference_envs+=(OPENBLAS_THREAD_TIMEOUT=4); fi
}
