#include "nn/gemm.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "nn/blas_kernel.h"

namespace tessera {
namespace {

// The largest difference between Sgemm and a naive double product of random
// matrices, every transpose combination, beta 0 and 1, on strided views (lda,
// ldb, ldc larger than the rows need).
double LargestError(int64_t m, int64_t n, int64_t k) {
  double worst = 0;
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      for (const float beta : {0.0f, 1.0f}) {
        const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 7;
        std::vector<float> a((ta ? k : m) * lda), b((tb ? n : k) * ldb), c(m * ldc);
        unsigned seed = 7;
        const auto next = [&] {
          seed = seed * 1103515245u + 12345u;
          return static_cast<float>((seed >> 8) % 2001) / 1000.0f - 1.0f;
        };
        for (float& v : a) v = next();
        for (float& v : b) v = next();
        for (float& v : c) v = next();
        const std::vector<float> c0 = c;
        Sgemm(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 0.5f,
              a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            double want = beta * c0[i * ldc + j];
            for (int64_t p = 0; p < k; ++p) {
              const double x = ta ? a[p * lda + i] : a[i * lda + p];
              const double y = tb ? b[j * ldb + p] : b[p * ldb + j];
              want += 0.5 * x * y;
            }
            worst = std::max(worst, std::abs(want - c[i * ldc + j]));
          }
        }
        // Past the rows' ends (the strides' padding) nothing is written.
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = n; j < ldc; ++j) {
            if (c[i * ldc + j] != c0[i * ldc + j]) return 1e9;
          }
        }
      }
    }
  }
  return worst;
}

// Products on one OpenBLAS thread (oneDNN, the default) and on two (OpenBLAS
// shares them) both agree with the naive sums to float rounding.
TEST(GemmTest, MatchesNaiveProductOnOneAndTwoThreads) {
  const int saved = BlasThreads();
  for (const int threads : {1, 2}) {
    SetBlasThreads(threads);
    SCOPED_TRACE(threads);
    EXPECT_LT(LargestError(37, 19, 53), 1e-4);
    EXPECT_LT(LargestError(64, 64, 64), 1e-4);
    EXPECT_LT(LargestError(1, 130, 300), 1e-4);
  }
  SetBlasThreads(saved);
  EXPECT_EQ(GemmDescription().rfind("oneDNN ", 0), 0u) << GemmDescription();
}

// SetGemmLibrary(kOpenBlas) (what EnsureBlasKernel does for
// TESSERA_GEMM=openblas) sends even single-threaded products to OpenBLAS.
TEST(GemmTest, OpenBlasWhenAsked) {
  const int saved = BlasThreads();
  SetBlasThreads(1);
  SetGemmLibrary(GemmLibrary::kOpenBlas);
  EXPECT_EQ(GemmDescription(), "OpenBLAS (TESSERA_GEMM=openblas)");
  EXPECT_LT(LargestError(17, 9, 33), 1e-4);
  SetGemmLibrary(GemmLibrary::kOneDnn);
  SetBlasThreads(saved);
}

// EnsureBlasKernel reads TESSERA_GEMM through the lookup main passes: a value
// sets the library, a bad one stops the program naming it.
TEST(GemmDeathTest, EnsureBlasKernelReadsTesseraGemm) {
  const auto lookup = [](const char* value) {
    return [value](const char* name) -> const char* {
      if (std::strcmp(name, "TESSERA_GEMM") == 0) return value;
      // Leave OpenBLAS's variables "set" so that nothing re-executes.
      if (std::strcmp(name, "TESSERA_BLAS_REEXEC") == 0) return "1";
      return nullptr;
    };
  };
  EnsureBlasKernel(0, nullptr, lookup("openblas"));
  EXPECT_EQ(CurrentGemmLibrary(), GemmLibrary::kOpenBlas);
  EnsureBlasKernel(0, nullptr, lookup(nullptr));
  EXPECT_EQ(CurrentGemmLibrary(), GemmLibrary::kOneDnn);
  EXPECT_EXIT(EnsureBlasKernel(0, nullptr, lookup("mkl")), ::testing::ExitedWithCode(2),
              "TESSERA_GEMM=\"mkl\" in the environment: want \"onednn\"");
  EXPECT_EQ(CurrentGemmLibrary(), GemmLibrary::kOneDnn);
}

}  // namespace
}  // namespace tessera
