#include "nn/blas_kernel.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(DecideBlasKernelTest, PrescottWithAvx512ReexecsAsSkylakeX) {
  const BlasKernelDecision d = DecideBlasKernel("Prescott", nullptr, nullptr, true, true);
  EXPECT_TRUE(d.reexec);
  EXPECT_EQ(d.coretype, "SkylakeX");
}

TEST(DecideBlasKernelTest, GenericWithAvx2ReexecsAsHaswell) {
  const BlasKernelDecision d = DecideBlasKernel("Core2", nullptr, nullptr, false, true);
  EXPECT_TRUE(d.reexec);
  EXPECT_EQ(d.coretype, "Haswell");
}

TEST(DecideBlasKernelTest, NeverOverridesTheUser) {
  const BlasKernelDecision d = DecideBlasKernel("Prescott", "Prescott", nullptr, true, true);
  EXPECT_FALSE(d.reexec);
  EXPECT_NE(d.reason.find("set by the user"), std::string::npos);
  // Even an empty value is the user's.
  EXPECT_FALSE(DecideBlasKernel("Prescott", "", nullptr, true, true).reexec);
}

TEST(DecideBlasKernelTest, GuardPreventsASecondReexec) {
  EXPECT_FALSE(DecideBlasKernel("Prescott", nullptr, "1", true, true).reexec);
}

TEST(DecideBlasKernelTest, KeepsARecognizedCore) {
  EXPECT_FALSE(DecideBlasKernel("SkylakeX", nullptr, nullptr, true, true).reexec);
  EXPECT_FALSE(DecideBlasKernel("Zen", nullptr, nullptr, false, true).reexec);
  EXPECT_FALSE(DecideBlasKernel("Haswell", nullptr, nullptr, true, true).reexec);
}

TEST(DecideBlasKernelTest, NoVectorUnitsNoReexec) {
  EXPECT_FALSE(DecideBlasKernel("Prescott", nullptr, nullptr, false, false).reexec);
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

}  // namespace
}  // namespace tessera
