#ifndef TESSERA_NN_BLAS_KERNEL_H_
#define TESSERA_NN_BLAS_KERNEL_H_

// Making sure OpenBLAS runs its fast kernels.
//
// Debian's OpenBLAS 0.3.21 takes some Xeons for a "Prescott" and runs sgemm about
// 5x slower than with OPENBLAS_CORETYPE=SkylakeX. OpenBLAS reads that variable
// when the library loads, so the only fix from inside a program is to set it and
// re-execute. Environment read (through the lookup main passes; documented
// for users):
//   OPENBLAS_CORETYPE     the user's choice; never overridden.
//   TESSERA_BLAS_REEXEC   set to 1 by EnsureBlasKernel before re-executing, so a
//                         program re-executes at most once.

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace tessera {

struct BlasKernelDecision {
  bool reexec = false;
  std::string coretype;  // value for OPENBLAS_CORETYPE when reexec
  std::string reason;    // for the log
};

// True for the fallback cores OpenBLAS reports when it does not recognize a CPU
// ("Prescott", "Core2", "Nehalem", "Generic", ...), case-insensitive.
bool IsGenericBlasCore(absl::string_view corename);

// The pure decision of EnsureBlasKernel. `user_coretype` and `reexec_guard` are the
// environment values (null when unset). Re-execute only when neither is set, the
// core is generic, and the CPU has AVX-512F (-> "SkylakeX") or AVX2 (-> "Haswell").
BlasKernelDecision DecideBlasKernel(absl::string_view corename, const char* user_coretype,
                                    const char* reexec_guard, bool has_avx512f,
                                    bool has_avx2);

// Call first in main(), before any thread starts, with the C library's
// environment lookup. When
// DecideBlasKernel says so, re-executes /proc/self/exe with `argv` and this
// process's environment plus OPENBLAS_CORETYPE and TESSERA_BLAS_REEXEC (the
// process's own environment is not changed; does not return on success; on
// failure logs a warning and goes on with the current kernel). Logs the
// kernel in use.
void EnsureBlasKernel(int argc, char** argv, absl::FunctionRef<const char*(const char*)> lookup);

// openblas_get_corename(), e.g. "Haswell".
std::string BlasKernelName();

// openblas_get_num_threads().
int BlasThreads();

// openblas_set_num_threads(n) unless OpenBLAS already uses n threads.
void SetBlasThreads(int n);

// SetBlasThreads(n) for the object's life, then the count before it. The count
// is process-wide: only for a thread that owns OpenBLAS's setting meanwhile
// (a layer running its own parts, each calling sgemm single-threaded).
class ScopedBlasThreads {
 public:
  explicit ScopedBlasThreads(int n) : saved_(BlasThreads()) { SetBlasThreads(n); }
  ~ScopedBlasThreads() { SetBlasThreads(saved_); }
  ScopedBlasThreads(const ScopedBlasThreads&) = delete;
  ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

 private:
  const int saved_;
};

}  // namespace tessera

#endif  // TESSERA_NN_BLAS_KERNEL_H_
