// The OpenBLAS core Tessera's programs run with on this machine, for the
// benchmarks' references (bench/reference_env.sh sets the same for them):
// prints two lines, the OPENBLAS_CORETYPE value Tessera's programs would set
// ("-" when they set none: the user's value or OpenBLAS's own choice stands),
// then the reason. The decision is nn/blas_kernel.h's DecideBlasKernel, the
// one EnsureBlasKernel acts on, so the references cannot drift from it.
//
//   bazel-bin/bench/blas_core_choice
#include <cstdio>
#include <cstdlib>

#include "nn/blas_kernel.h"

int main() {
  __builtin_cpu_init();
  // The thread timeout plays no part in the core; the re-exec guard is not
  // consulted (this program never re-executes).
  const tessera::BlasKernelDecision d =
      tessera::DecideBlasKernel(tessera::BlasKernelName(), std::getenv("OPENBLAS_CORETYPE"),
                                std::getenv("OPENBLAS_THREAD_TIMEOUT"), /*reexec_guard=*/nullptr,
                                __builtin_cpu_supports("avx512f"), __builtin_cpu_supports("avx2"));
  std::printf("%s\n%s\n", d.coretype.empty() ? "-" : d.coretype.c_str(), d.reason.c_str());
  return 0;
}
