#include "nn/blas_kernel.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(DecideBlasKernelTest, PrescottWithAvx512ReexecsAsSkylakeX) {
  const BlasKernelDecision d = DecideBlasKernel("Prescott", nullptr, "4", nullptr, true, true);
  EXPECT_TRUE(d.reexec());
  EXPECT_EQ(d.coretype, "SkylakeX");
}

TEST(DecideBlasKernelTest, GenericWithAvx2ReexecsAsHaswell) {
  const BlasKernelDecision d = DecideBlasKernel("Core2", nullptr, "4", nullptr, false, true);
  EXPECT_TRUE(d.reexec());
  EXPECT_EQ(d.coretype, "Haswell");
}

TEST(DecideBlasKernelTest, NeverOverridesTheUser) {
  const BlasKernelDecision d = DecideBlasKernel("Prescott", "Prescott", "4", nullptr, true, true);
  EXPECT_FALSE(d.reexec());
  EXPECT_NE(d.reason.find("set by the user"), std::string::npos);
  // Even an empty value is the user's.
  EXPECT_FALSE(DecideBlasKernel("Prescott", "", "4", nullptr, true, true).reexec());
}

TEST(DecideBlasKernelTest, GuardPreventsASecondReexec) {
  EXPECT_FALSE(DecideBlasKernel("Prescott", nullptr, "4", "1", true, true).reexec());
}

TEST(DecideBlasKernelTest, KeepsARecognizedCore) {
  EXPECT_FALSE(DecideBlasKernel("SkylakeX", nullptr, "4", nullptr, true, true).reexec());
  EXPECT_FALSE(DecideBlasKernel("Zen", nullptr, "4", nullptr, false, true).reexec());
  EXPECT_FALSE(DecideBlasKernel("Haswell", nullptr, "4", nullptr, true, true).reexec());
}

TEST(DecideBlasKernelTest, SetsTheThreadTimeoutWhenUnset) {
  const BlasKernelDecision d = DecideBlasKernel("Haswell", "Haswell", nullptr, nullptr, true, true);
  EXPECT_TRUE(d.reexec());
  EXPECT_EQ(d.thread_timeout, "4");
  EXPECT_EQ(d.coretype, "");  // the user's stays
  EXPECT_NE(d.reason.find("OPENBLAS_THREAD_TIMEOUT unset"), std::string::npos);
  // Both at once on a generic core.
  const BlasKernelDecision both =
      DecideBlasKernel("Prescott", nullptr, nullptr, nullptr, true, true);
  EXPECT_TRUE(both.reexec());
  EXPECT_EQ(both.coretype, "SkylakeX");
  EXPECT_EQ(both.thread_timeout, "4");
}

TEST(DecideBlasKernelTest, NeverOverridesTheUsersThreadTimeout) {
  const BlasKernelDecision d = DecideBlasKernel("Haswell", nullptr, "28", nullptr, true, true);
  EXPECT_FALSE(d.reexec());
  EXPECT_EQ(d.thread_timeout, "");
  EXPECT_NE(d.reason.find("OPENBLAS_THREAD_TIMEOUT=28 set by the user"), std::string::npos);
  EXPECT_FALSE(DecideBlasKernel("Haswell", nullptr, "", nullptr, true, true).reexec());
}

TEST(DecideBlasKernelTest, SaysWhatOpenBlasMakesOfTheUsersThreadTimeout) {
  EXPECT_NE(DecideBlasKernel("Haswell", nullptr, "abc", nullptr, true, true)
                .reason.find("not a positive number: OpenBLAS ignores it"),
            std::string::npos);
  EXPECT_NE(DecideBlasKernel("Haswell", nullptr, "0", nullptr, true, true)
                .reason.find("not a positive number"),
            std::string::npos);
  EXPECT_NE(DecideBlasKernel("Haswell", nullptr, "2", nullptr, true, true)
                .reason.find("(OpenBLAS takes 4)"),
            std::string::npos);
  EXPECT_NE(DecideBlasKernel("Haswell", nullptr, "40", nullptr, true, true)
                .reason.find("(OpenBLAS takes 30)"),
            std::string::npos);
  const std::string fine = DecideBlasKernel("Haswell", nullptr, "12", nullptr, true, true).reason;
  EXPECT_EQ(fine.find("OpenBLAS takes"), std::string::npos);
  EXPECT_EQ(fine.find("not a positive"), std::string::npos);
  // None of them is overridden.
  EXPECT_FALSE(DecideBlasKernel("Haswell", nullptr, "abc", nullptr, true, true).reexec());
}

TEST(DecideBlasKernelTest, GuardPreventsASecondReexecForTheTimeout) {
  const BlasKernelDecision d = DecideBlasKernel("Haswell", nullptr, nullptr, "1", true, true);
  EXPECT_FALSE(d.reexec());
  EXPECT_EQ(d.thread_timeout, "");
}

TEST(DecideBlasKernelTest, NoVectorUnitsNoReexec) {
  EXPECT_FALSE(DecideBlasKernel("Prescott", nullptr, "4", nullptr, false, false).reexec());
}

TEST(IsGenericBlasCoreTest, Names) {
  EXPECT_TRUE(IsGenericBlasCore("Prescott"));
  EXPECT_TRUE(IsGenericBlasCore("PRESCOTT"));
  EXPECT_TRUE(IsGenericBlasCore("Nehalem"));
  EXPECT_FALSE(IsGenericBlasCore("Haswell"));
  EXPECT_FALSE(IsGenericBlasCore("SkylakeX"));
}

TEST(BlasKernelNameTest, ReportsSomething) {
  EXPECT_FALSE(BlasKernelName().empty());
  EXPECT_GE(BlasThreads(), 1);
}

TEST(ParseGemmLibraryTest, DefaultOneDnnOpenBlasAndBadValuesNamed) {
  EXPECT_EQ(*ParseGemmLibrary(nullptr), GemmLibrary::kOneDnn);
  EXPECT_EQ(*ParseGemmLibrary("onednn"), GemmLibrary::kOneDnn);
  EXPECT_EQ(*ParseGemmLibrary("openblas"), GemmLibrary::kOpenBlas);
  for (const char* bad : {"", "OpenBLAS", "mkl"}) {
    const absl::StatusOr<GemmLibrary> r = ParseGemmLibrary(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(absl::StrCat("TESSERA_GEMM=\"", bad, "\"")),
              std::string::npos)
        << r.status();
  }
}

}  // namespace
}  // namespace tessera
