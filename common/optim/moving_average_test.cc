#include "common/optim/moving_average.h"

#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

// N updates with a constant batch value b and decay d, each delta computed
// from the current var as a worker does: var_N = b + (var_0 - b) * d^N.
TEST(MovingAverageTest, RepeatedDeltasGiveTheClosedForm) {
  const float decay = 0.5f, value = 3.0f;
  std::vector<float> var = {1.0f, 7.0f};
  for (int step = 0; step < 4; ++step) {
    const std::vector<float> delta = {(1 - decay) * (var[0] - value),
                                      (1 - decay) * (var[1] - value)};
    ASSERT_TRUE(ApplyMovingAverageDelta(absl::MakeSpan(var), delta).ok());
  }
  // 3 + (1 - 3) / 16 and 3 + (7 - 3) / 16, exact in float.
  EXPECT_EQ(var, std::vector<float>({2.875f, 3.25f}));
}

TEST(MovingAverageTest, SizeMismatchChangesNothing) {
  std::vector<float> var = {1.0f, 2.0f};
  const std::vector<float> delta = {1.0f};
  const absl::Status s = ApplyMovingAverageDelta(absl::MakeSpan(var), delta);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "moving average update: variable has 2 elements, its delta 1");
  EXPECT_EQ(var, std::vector<float>({1.0f, 2.0f}));
}

}  // namespace
}  // namespace tessera
