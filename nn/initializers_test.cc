#include "nn/initializers.h"

#include <cmath>

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(InitializersTest, TruncatedNormalIsDeterministicAndTruncated) {
  Initializer init;
  init.mutable_truncated_normal()->set_stddev(0.1f);
  const Tensor a = InitialTensor(init, {100, 100}, 7);
  const Tensor b = InitialTensor(init, {100, 100}, 7);
  const Tensor c = InitialTensor(init, {100, 100}, 8);
  EXPECT_EQ(a.span(), b.span());
  EXPECT_NE(a.span(), c.span());
  double sum = 0, sum_sq = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    ASSERT_LE(std::fabs(a[i]), 0.2f + 1e-6f) << i;
    sum += a[i];
    sum_sq += double{a[i]} * a[i];
  }
  const double mean = sum / a.size();
  // A normal truncated at 2 stddev has stddev 0.88 * stddev.
  EXPECT_NEAR(mean, 0.0, 0.003);
  EXPECT_NEAR(std::sqrt(sum_sq / a.size() - mean * mean), 0.088, 0.003);
}

TEST(InitializersTest, ConstantAndZeros) {
  Initializer init;
  init.mutable_constant()->set_value(0.1f);
  const Tensor t = InitialTensor(init, {3}, 1);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(t[i], 0.1f);
  init.mutable_zeros();
  EXPECT_EQ(InitialTensor(init, {2, 2}, 1).span(), Tensor({2, 2}).span());
}

TEST(InitializersTest, GlorotUniformLimitUsesConvFans) {
  Initializer init;
  init.mutable_glorot_uniform();
  // [5, 5, 1, 32]: fan_in 25, fan_out 800 -> limit sqrt(6 / 825) = 0.0853.
  const Tensor t = InitialTensor(init, {5, 5, 1, 32}, 3);
  float max_abs = 0;
  for (int64_t i = 0; i < t.size(); ++i) max_abs = std::max(max_abs, std::fabs(t[i]));
  EXPECT_LE(max_abs, 0.08529f);
  EXPECT_GT(max_abs, 0.08f);
}

TEST(InitializersTest, ValidateRejectsBadInitializers) {
  Initializer init;
  absl::Status s = ValidateInitializer(init, "fc1/weights");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "fc1/weights: initializer kind is not set");
  init.mutable_truncated_normal()->set_stddev(0.0f);
  s = ValidateInitializer(init, "w");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("stddev > 0"), absl::string_view::npos) << s;
  init.mutable_truncated_normal()->set_stddev(0.5f);
  EXPECT_TRUE(ValidateInitializer(init, "w").ok());
}

}  // namespace
}  // namespace tessera
