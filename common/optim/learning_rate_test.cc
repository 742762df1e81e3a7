#include "common/optim/learning_rate.h"

#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr float kTol = 1e-7f;

LearningRateSchedule Schedule(const std::string& text) {
  LearningRateSchedule schedule;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &schedule)) << text;
  EXPECT_TRUE(ValidateLearningRateSchedule(schedule).ok()) << text;
  return schedule;
}

TEST(LearningRateTest, ConstantWhenUnset) {
  const LearningRateSchedule s = Schedule("");
  EXPECT_FLOAT_EQ(LearningRate(s, 0.1f, 0), 0.1f);
  EXPECT_FLOAT_EQ(LearningRate(s, 0.1f, 123456789), 0.1f);
}

TEST(LearningRateTest, ExponentialDecay) {
  const LearningRateSchedule s =
      Schedule("exponential_decay { decay_steps: 100 decay_rate: 0.96 }");
  EXPECT_NEAR(LearningRate(s, 0.1f, 0), 0.1f, kTol);     // 0.1 * 0.96^0
  EXPECT_NEAR(LearningRate(s, 0.1f, 100), 0.096f, kTol);  // 0.1 * 0.96^1
  // 0.1 * 0.96^1.5 = 0.1 * 0.96 * sqrt(0.96) = 0.096 * 0.9797959 = 0.0940604
  EXPECT_NEAR(LearningRate(s, 0.1f, 150), 0.0940604f, kTol);
  // 0.1 * 0.96^2 = 0.09216
  EXPECT_NEAR(LearningRate(s, 0.1f, 200), 0.09216f, kTol);
}

TEST(LearningRateTest, ExponentialDecayStaircase) {
  const LearningRateSchedule s =
      Schedule("exponential_decay { decay_steps: 100 decay_rate: 0.5 staircase: true }");
  EXPECT_NEAR(LearningRate(s, 0.1f, 99), 0.1f, kTol);     // 0.1 * 0.5^0
  EXPECT_NEAR(LearningRate(s, 0.1f, 100), 0.05f, kTol);   // 0.1 * 0.5^1
  EXPECT_NEAR(LearningRate(s, 0.1f, 150), 0.05f, kTol);   // floor(1.5) = 1
  EXPECT_NEAR(LearningRate(s, 0.1f, 250), 0.025f, kTol);  // 0.1 * 0.5^2
}

TEST(LearningRateTest, PiecewiseConstantUsesAbsoluteValues) {
  const LearningRateSchedule s = Schedule(
      "piecewise_constant { boundaries: [1000, 2000] values: [0.1, 0.01, 0.001] }");
  // As tf.train.piecewise_constant: step <= 1000 -> 0.1, 1000 < step <= 2000
  // -> 0.01, later 0.001. The base rate (5) plays no part.
  EXPECT_FLOAT_EQ(LearningRate(s, 5.0f, 0), 0.1f);
  EXPECT_FLOAT_EQ(LearningRate(s, 5.0f, 1000), 0.1f);
  EXPECT_FLOAT_EQ(LearningRate(s, 5.0f, 1001), 0.01f);
  EXPECT_FLOAT_EQ(LearningRate(s, 5.0f, 2000), 0.01f);
  EXPECT_FLOAT_EQ(LearningRate(s, 5.0f, 2001), 0.001f);
}

TEST(LearningRateTest, CosineDecay) {
  const LearningRateSchedule s = Schedule("cosine_decay { decay_steps: 100 alpha: 0.1 }");
  EXPECT_NEAR(LearningRate(s, 0.1f, 0), 0.1f, kTol);  // cos(0) = 1
  // step 25: 0.1 * (0.9 * 0.5 * (1 + cos(pi/4)) + 0.1)
  //        = 0.1 * (0.45 * 1.7071068 + 0.1) = 0.1 * 0.8681981 = 0.0868198
  EXPECT_NEAR(LearningRate(s, 0.1f, 25), 0.0868198f, kTol);
  // step 50: 0.1 * (0.9 * 0.5 + 0.1) = 0.055
  EXPECT_NEAR(LearningRate(s, 0.1f, 50), 0.055f, kTol);
  // step >= 100: the floor, 0.1 * alpha = 0.01
  EXPECT_NEAR(LearningRate(s, 0.1f, 100), 0.01f, kTol);
  EXPECT_NEAR(LearningRate(s, 0.1f, 5000), 0.01f, kTol);
}

TEST(LearningRateTest, LinearWarmupAlone) {
  const LearningRateSchedule s = Schedule("warmup_steps: 10");
  EXPECT_FLOAT_EQ(LearningRate(s, 0.1f, 0), 0.0f);    // 0.1 * 0/10
  EXPECT_NEAR(LearningRate(s, 0.1f, 5), 0.05f, kTol);  // 0.1 * 5/10
  EXPECT_FLOAT_EQ(LearningRate(s, 0.1f, 10), 0.1f);
  EXPECT_FLOAT_EQ(LearningRate(s, 0.1f, 11), 0.1f);
}

TEST(LearningRateTest, WarmupScalesTheDecayedRate) {
  const LearningRateSchedule s = Schedule(
      "exponential_decay { decay_steps: 10 decay_rate: 0.5 staircase: true } "
      "warmup_steps: 20");
  // step 15: decayed 0.1 * 0.5^1 = 0.05, times 15/20 -> 0.0375
  EXPECT_NEAR(LearningRate(s, 0.1f, 15), 0.0375f, kTol);
  // step 20: warm-up over; 0.1 * 0.5^2 = 0.025
  EXPECT_NEAR(LearningRate(s, 0.1f, 20), 0.025f, kTol);
}

TEST(LearningRateTest, NegativeStepCountsAsZero) {
  const LearningRateSchedule s = Schedule("cosine_decay { decay_steps: 100 }");
  EXPECT_FLOAT_EQ(LearningRate(s, 0.1f, -5), 0.1f);
}

TEST(LearningRateTest, InvalidSchedulesNameTheField) {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"warmup_steps: -1", "schedule.warmup_steps must be >= 0, got -1"},
      {"exponential_decay { decay_steps: 0 decay_rate: 0.5 }",
       "schedule.exponential_decay.decay_steps must be > 0, got 0"},
      {"exponential_decay { decay_steps: 10 }",
       "schedule.exponential_decay.decay_rate must be > 0 and finite, got 0"},
      {"piecewise_constant { boundaries: [10] values: [0.1] }",
       "schedule.piecewise_constant.values must have one more element than boundaries: "
       "got 1 values and 1 boundaries"},
      {"piecewise_constant { boundaries: [10, 10] values: [0.1, 0.2, 0.3] }",
       "schedule.piecewise_constant.boundaries must be strictly increasing: "
       "boundaries[1] = 10 <= boundaries[0] = 10"},
      {"piecewise_constant { boundaries: [10] values: [0.1, -0.2] }",
       "schedule.piecewise_constant.values[1] must be >= 0 and finite, got -0.2"},
      {"cosine_decay { decay_steps: 10 alpha: 1.5 }",
       "schedule.cosine_decay.alpha must be in [0, 1], got 1.5"},
  };
  for (const auto& c : cases) {
    LearningRateSchedule schedule;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(c.text, &schedule)) << c.text;
    absl::Status status = ValidateLearningRateSchedule(schedule);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(status.message(), c.message) << c.text;
  }
}

}  // namespace
}  // namespace tessera
