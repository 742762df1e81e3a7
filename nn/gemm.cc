#include "nn/gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "nn/blas_kernel.h"

// libgomp's, declared here rather than through <omp.h>, which clang (the
// fuzzing build) does not ship without libomp-dev.
extern "C" void omp_set_num_threads(int threads);

namespace tessera {

void Sgemm(CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
           float* c, int64_t ldc) {
  if (CurrentGemmLibrary() == GemmLibrary::kOneDnn && BlasThreads() == 1) {
    // oneDNN runs on OpenMP: at 1 thread for this calling thread (a per-thread
    // setting), so it runs the product here and starts no team.
    thread_local bool serial = false;
    if (!serial) {
      omp_set_num_threads(1);
      serial = true;
    }
    const dnnl_status_t status =
        dnnl_sgemm(trans_a == CblasTrans ? 'T' : 'N', trans_b == CblasTrans ? 'T' : 'N', m, n, k,
                   alpha, a, lda, b, ldb, beta, c, ldc);
    if (status == dnnl_success) return;
    // Only arguments oneDNN refuses (the layers' are valid): say so once and
    // let OpenBLAS do it.
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) {
      std::fprintf(stderr, "oneDNN's sgemm refused %lldx%lldx%lld (status %d); using OpenBLAS\n",
                   static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k),
                   static_cast<int>(status));
    }
  }
  cblas_sgemm(CblasRowMajor, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

std::string GemmDescription() {
  if (CurrentGemmLibrary() == GemmLibrary::kOpenBlas) return "OpenBLAS (TESSERA_GEMM=openblas)";
  const dnnl_version_t* v = dnnl_version();
  return absl::StrCat("oneDNN ", v->major, ".", v->minor, ".", v->patch);
}

}  // namespace tessera
