#ifndef TESSERA_NN_BLAS_KERNEL_H_
#define TESSERA_NN_BLAS_KERNEL_H_

// Making sure OpenBLAS runs its fast kernels, and that its idle threads give
// the cores back.
//
// Debian's OpenBLAS 0.3.21 takes some Xeons for a "Prescott" and runs sgemm about
// 5x slower than with OPENBLAS_CORETYPE=SkylakeX. And after each multithreaded
// sgemm its worker threads spin (calling sched_yield) for 2^28 cycles, about
// 0.1 s, before they sleep: in a training step that alternates OpenBLAS's
// threads with the layers' own threads (nn/layer_threads.h), they take the
// cores' time from those threads (ResNet-18 at 64x64: sched_yield and its
// system-call exits were ~5% of the step's CPU profile; the shortest timeout,
// 2^4 cycles, removed them and made the step about 4% faster, 7 of 9
// alternating pairs). OpenBLAS reads both variables when the library loads,
// so the only fix from inside a program is to set them and re-execute.
// Environment read (through the lookup main passes; documented for users):
//   OPENBLAS_CORETYPE        the user's choice; never overridden.
//   OPENBLAS_THREAD_TIMEOUT  the user's choice; never overridden. Unset: set
//                            to kBlasThreadTimeout.
//   TESSERA_BLAS_REEXEC      set to 1 by EnsureBlasKernel before re-executing, so a
//                            program re-executes at most once.

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// OPENBLAS_THREAD_TIMEOUT when the user sets none: OpenBLAS's threads spin
// 2^4 cycles (its shortest) before they sleep.
inline constexpr int kBlasThreadTimeout = 4;

struct BlasKernelDecision {
  std::string coretype;        // value to set OPENBLAS_CORETYPE to ("": leave it)
  std::string thread_timeout;  // value to set OPENBLAS_THREAD_TIMEOUT to ("": leave it)
  std::string reason;          // for the log
  // Whether to re-execute: some variable is to be set.
  bool reexec() const { return !coretype.empty() || !thread_timeout.empty(); }
};

// True for the fallback cores OpenBLAS reports when it does not recognize a CPU
// ("Prescott", "Core2", "Nehalem", "Generic", ...), case-insensitive.
bool IsGenericBlasCore(absl::string_view corename);

// The pure decision of EnsureBlasKernel. `user_coretype`, `user_thread_timeout`
// and `reexec_guard` are the environment values (null when unset). Never
// re-executes when the guard is set. Otherwise re-executes to set
// OPENBLAS_THREAD_TIMEOUT to kBlasThreadTimeout when it is unset, and
// OPENBLAS_CORETYPE when it is unset, the core is generic and the CPU has
// AVX-512F (-> "SkylakeX") or AVX2 (-> "Haswell").
BlasKernelDecision DecideBlasKernel(absl::string_view corename, const char* user_coretype,
                                    const char* user_thread_timeout, const char* reexec_guard,
                                    bool has_avx512f, bool has_avx2);

// Call first in main(), before any thread starts, with the C library's
// environment lookup. When
// DecideBlasKernel says so, re-executes /proc/self/exe with `argv` and this
// process's environment plus the variables it decided and TESSERA_BLAS_REEXEC (the
// process's own environment is not changed; does not return on success; on
// failure logs a warning and goes on with the current kernel). Logs the
// kernel in use. Also sets the products' library from TESSERA_GEMM
// (SetGemmLibrary); a bad value stops the program (exit status 2) with
// ParseGemmLibrary's error.
void EnsureBlasKernel(int argc, char** argv, absl::FunctionRef<const char*(const char*)> lookup);

// The library of the layers' single-threaded matrix products (nn/gemm.h),
// process-wide like OpenBLAS's thread count: oneDNN unless EnsureBlasKernel
// found TESSERA_GEMM=openblas.
enum class GemmLibrary { kOneDnn, kOpenBlas };

// TESSERA_GEMM's value (null when unset): unset or "onednn" -> kOneDnn,
// "openblas" -> kOpenBlas; anything else INVALID_ARGUMENT naming the variable
// and the value.
absl::StatusOr<GemmLibrary> ParseGemmLibrary(const char* value);

void SetGemmLibrary(GemmLibrary library);
GemmLibrary CurrentGemmLibrary();

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
