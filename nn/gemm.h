#ifndef TESSERA_NN_GEMM_H_
#define TESSERA_NN_GEMM_H_

// The layers' matrix products, row-major C = alpha op(A) op(B) + beta C, as
// cblas_sgemm without its order argument.
//
// A product made where OpenBLAS is set to 1 thread (every part of a layer
// that cuts its work over the layer threads, every slice of a SPLIT_BATCH
// step: nn/layer_threads.h, nn/model.h) runs on oneDNN's sgemm, single-
// threaded; one made with OpenBLAS at more threads (the dense layers and 1x1
// convolutions of a BLAS_THREADS step) runs on OpenBLAS, which shares it over
// its threads. Why: OPENBLAS_CORETYPE=Haswell, which these machines' environment
// sets and Tessera respects, holds OpenBLAS to its AVX2 kernels, while oneDNN
// picks its kernels for the CPU it finds (AVX-512 on these EPYCs: 190-220
// GFLOP/s a core on the layers' shapes against OpenBLAS's 94-103; on an
// Intel Xeon where OpenBLAS runs its AVX-512 SkylakeX kernel, oneDNN still
// leads by 1-30%; docs/models.md, "Matrix products"). oneDNN's own variables (ONEDNN_MAX_CPU_ISA,
// ONEDNN_VERBOSE) hold as the user sets them.
//
// TESSERA_GEMM=openblas in the environment makes every product OpenBLAS's
// (for comparing the two); unset or "onednn" is the default above; any other
// value stops the program with an error naming it. EnsureBlasKernel, which
// every program calls first, reads it (CurrentGemmLibrary, nn/blas_kernel.h).

#include <cblas.h>

#include <cstdint>
#include <string>

namespace tessera {

void Sgemm(CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
           float* c, int64_t ldc);

// Which library the single-threaded products use, for logs and benchmark
// output: "oneDNN 2.6.3" or "OpenBLAS (TESSERA_GEMM=openblas)".
std::string GemmDescription();

}  // namespace tessera

#endif  // TESSERA_NN_GEMM_H_
