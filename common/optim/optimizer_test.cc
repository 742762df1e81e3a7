#include "common/optim/optimizer.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr float kTol = 1e-6f;

OptimizerConfig Config(const std::string& text) {
  OptimizerConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

std::unique_ptr<Optimizer> Create(const std::string& text) {
  absl::StatusOr<std::unique_ptr<Optimizer>> opt = CreateOptimizer(Config(text));
  EXPECT_TRUE(opt.ok()) << opt.status();
  return opt.ok() ? std::move(opt).value() : nullptr;
}

// A one-element variable with its slots, initialized as the optimizer says.
struct Scalar {
  explicit Scalar(const Optimizer& opt, float value) : var{value} {
    for (int i = 0; i < opt.NumSlots(); ++i) slots.push_back({opt.SlotInitialValue(i)});
  }
  absl::Status Apply(const Optimizer& opt, float grad, float lr, int64_t step) {
    std::vector<absl::Span<float>> spans;
    for (auto& s : slots) spans.push_back(absl::MakeSpan(s));
    const std::vector<float> g{grad};
    return opt.Apply(absl::MakeSpan(var), g, spans, lr, step);
  }
  std::vector<float> var;
  std::vector<std::vector<float>> slots;
};

TEST(SgdTest, SubtractsLrTimesGrad) {
  auto opt = Create("learning_rate: 0.1 sgd {}");
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->Name(), "sgd");
  EXPECT_EQ(opt->NumSlots(), 0);
  std::vector<float> var{1.0f, 2.0f};
  const std::vector<float> grad{0.5f, -1.0f};
  // [1 - 0.1*0.5, 2 + 0.1*1] = [0.95, 2.1]; again: [0.9, 2.2].
  ASSERT_TRUE(opt->Apply(absl::MakeSpan(var), grad, {}, 0.1f, 1).ok());
  EXPECT_NEAR(var[0], 0.95f, kTol);
  EXPECT_NEAR(var[1], 2.1f, kTol);
  ASSERT_TRUE(opt->Apply(absl::MakeSpan(var), grad, {}, 0.1f, 2).ok());
  EXPECT_NEAR(var[0], 0.9f, kTol);
  EXPECT_NEAR(var[1], 2.2f, kTol);
}

TEST(MomentumTest, AccumulatesVelocity) {
  auto opt = Create("learning_rate: 0.1 momentum { momentum: 0.9 }");
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->SlotNames(), std::vector<std::string>{"momentum"});
  Scalar s(*opt, 1.0f);
  EXPECT_EQ(s.slots[0][0], 0.0f);
  // accum = 0.5; var = 1 - 0.1*0.5 = 0.95
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 1).ok());
  EXPECT_NEAR(s.slots[0][0], 0.5f, kTol);
  EXPECT_NEAR(s.var[0], 0.95f, kTol);
  // accum = 0.9*0.5 + 0.5 = 0.95; var = 0.95 - 0.095 = 0.855
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 2).ok());
  EXPECT_NEAR(s.slots[0][0], 0.95f, kTol);
  EXPECT_NEAR(s.var[0], 0.855f, kTol);
  // accum = 0.9*0.95 + 0.5 = 1.355; var = 0.855 - 0.1355 = 0.7195
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 3).ok());
  EXPECT_NEAR(s.slots[0][0], 1.355f, kTol);
  EXPECT_NEAR(s.var[0], 0.7195f, kTol);
}

TEST(MomentumTest, Nesterov) {
  auto opt = Create("learning_rate: 0.1 momentum { momentum: 0.9 use_nesterov: true }");
  ASSERT_NE(opt, nullptr);
  Scalar s(*opt, 1.0f);
  // accum = 0.5; var = 1 - (0.1*0.5 + 0.1*0.9*0.5) = 1 - 0.095 = 0.905
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 1).ok());
  EXPECT_NEAR(s.var[0], 0.905f, kTol);
  // accum = 0.95; var = 0.905 - (0.05 + 0.09*0.95) = 0.905 - 0.1355 = 0.7695
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 2).ok());
  EXPECT_NEAR(s.slots[0][0], 0.95f, kTol);
  EXPECT_NEAR(s.var[0], 0.7695f, kTol);
}

TEST(AdamTest, BiasCorrectedSteps) {
  auto opt = Create("learning_rate: 0.1 adam {}");  // beta1 0.9, beta2 0.999, eps 1e-8
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->SlotNames(), (std::vector<std::string>{"m", "v"}));
  Scalar s(*opt, 1.0f);
  // t=1, g=0.5: m = 0.1*0.5 = 0.05; v = 0.001*0.25 = 0.00025;
  // lr_t = 0.1*sqrt(0.001)/0.1 = 0.0316228; var -= 0.0316228*0.05/0.0158114 = 0.1
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 1).ok());
  EXPECT_NEAR(s.slots[0][0], 0.05f, kTol);
  // (1 - beta2 in float32 is 0.00099998713, hence a relative tolerance of 2e-5.)
  EXPECT_NEAR(s.slots[1][0], 0.00025f, 0.00025f * 2e-5f);
  EXPECT_NEAR(s.var[0], 0.9f, kTol);
  // t=2, g=-1: m = 0.045 - 0.1 = -0.055; v = 0.999*0.00025 + 0.001 = 0.00124975;
  // lr_t = 0.1*sqrt(1 - 0.998001)/(1 - 0.81) = 0.1*0.0447102/0.19 = 0.0235317;
  // sqrt(v) = 0.0353518; var = 0.9 + 0.0235317*0.055/0.0353518 = 0.9366104
  ASSERT_TRUE(s.Apply(*opt, -1.0f, 0.1f, 2).ok());
  EXPECT_NEAR(s.slots[0][0], -0.055f, kTol);
  EXPECT_NEAR(s.slots[1][0], 0.00124975f, 0.00124975f * 2e-5f);
  EXPECT_NEAR(s.var[0], 0.9366104f, kTol);
}

TEST(AdamTest, StepDrivesBiasCorrection) {
  // The same state and gradient at t=1 and at t=1000 must give different
  // updates: lr_t(1) = 0.1*sqrt(0.001)/0.1 = 0.0316; lr_t(1000) ~ 0.1*0.795.
  auto opt = Create("learning_rate: 0.1 adam {}");
  ASSERT_NE(opt, nullptr);
  Scalar a(*opt, 1.0f), b(*opt, 1.0f);
  ASSERT_TRUE(a.Apply(*opt, 0.5f, 0.1f, 1).ok());
  ASSERT_TRUE(b.Apply(*opt, 0.5f, 0.1f, 1000).ok());
  // b: lr_t = 0.1*sqrt(1 - 0.999^1000)/(1 - 0.9^1000) = 0.1*sqrt(0.632305) = 0.0795176;
  // var = 1 - 0.0795176 * 0.05/0.0158114 = 1 - 0.251457 = 0.748543
  EXPECT_NEAR(a.var[0], 0.9f, kTol);
  EXPECT_NEAR(b.var[0], 0.748543f, 1e-5f);
}

TEST(RmsPropTest, DefaultsWithRmsStartingAtOne) {
  auto opt = Create("learning_rate: 0.1 rmsprop {}");  // decay 0.9, momentum 0, eps 1e-10
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->SlotNames(), (std::vector<std::string>{"rms", "momentum"}));
  Scalar s(*opt, 1.0f);
  EXPECT_EQ(s.slots[0][0], 1.0f);
  // ms = 0.9*1 + 0.1*0.25 = 0.925; mom = 0.1*0.5/sqrt(0.925) = 0.0519875;
  // var = 0.9480125
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 1).ok());
  EXPECT_NEAR(s.slots[0][0], 0.925f, kTol);
  EXPECT_NEAR(s.var[0], 0.9480125f, kTol);
  // ms = 0.8325 + 0.025 = 0.8575; mom = 0.05/sqrt(0.8575) = 0.0539949;
  // var = 0.8940176
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 2).ok());
  EXPECT_NEAR(s.slots[0][0], 0.8575f, kTol);
  EXPECT_NEAR(s.var[0], 0.8940176f, kTol);
}

TEST(RmsPropTest, Momentum) {
  auto opt = Create("learning_rate: 0.1 rmsprop { momentum: 0.5 }");
  ASSERT_NE(opt, nullptr);
  Scalar s(*opt, 1.0f);
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 1).ok());  // as above: mom = 0.0519875
  // mom = 0.5*0.0519875 + 0.0539949 = 0.0799887; var = 0.9480125 - 0.0799887 = 0.8680238
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 2).ok());
  EXPECT_NEAR(s.slots[1][0], 0.0799887f, kTol);
  EXPECT_NEAR(s.var[0], 0.8680238f, kTol);
}

TEST(RmsPropTest, Centered) {
  auto opt = Create("learning_rate: 0.1 rmsprop { centered: true }");
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->SlotNames(), (std::vector<std::string>{"rms", "momentum", "mg"}));
  Scalar s(*opt, 1.0f);
  EXPECT_EQ(s.slots[2][0], 0.0f);
  // ms = 0.925; mg = 0.1*0.5 = 0.05; mom = 0.05/sqrt(0.925 - 0.0025) = 0.0520579
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 1).ok());
  EXPECT_NEAR(s.slots[2][0], 0.05f, kTol);
  EXPECT_NEAR(s.var[0], 0.9479421f, kTol);
  // ms = 0.8575; mg = 0.045 + 0.05 = 0.095; mom = 0.05/sqrt(0.8575 - 0.009025)
  // = 0.0542813; var = 0.8936607
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 2).ok());
  EXPECT_NEAR(s.slots[2][0], 0.095f, kTol);
  EXPECT_NEAR(s.var[0], 0.8936607f, kTol);
}

TEST(AdagradTest, AccumulatorStartsAtInitialValue) {
  auto opt = Create("learning_rate: 0.1 adagrad {}");  // initial_accumulator_value 0.1
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->SlotNames(), std::vector<std::string>{"accumulator"});
  Scalar s(*opt, 1.0f);
  EXPECT_NEAR(s.slots[0][0], 0.1f, 1e-9f);
  // accum = 0.1 + 0.25 = 0.35; var = 1 - 0.05/sqrt(0.35) = 0.9154846
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 1).ok());
  EXPECT_NEAR(s.slots[0][0], 0.35f, kTol);
  EXPECT_NEAR(s.var[0], 0.9154846f, kTol);
  // accum = 0.6; var = 0.9154846 - 0.05/sqrt(0.6) = 0.8509349
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 2).ok());
  EXPECT_NEAR(s.var[0], 0.8509349f, kTol);
}

TEST(OptimizerTest, LargeBufferMatchesScalarPath) {
  // Every element of a buffer whose length is not a multiple of the vector
  // width gets the same update as the one-element case (vectorized body and
  // scalar tail agree).
  auto opt = Create("learning_rate: 0.1 adam {}");
  ASSERT_NE(opt, nullptr);
  const size_t n = 1027;
  std::vector<float> var(n, 1.0f), grad(n, 0.5f), m(n), v(n);
  ASSERT_TRUE(opt->InitializeSlots({absl::MakeSpan(m), absl::MakeSpan(v)}).ok());
  ASSERT_TRUE(opt->Apply(absl::MakeSpan(var), grad, {absl::MakeSpan(m), absl::MakeSpan(v)},
                         0.1f, 1).ok());
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(var[i], 0.9f, kTol) << i;
}

TEST(OptimizerTest, InitializeSlots) {
  auto opt = Create("learning_rate: 0.1 rmsprop { centered: true }");
  ASSERT_NE(opt, nullptr);
  std::vector<float> a(3, 7.0f), b(3, 7.0f), c(3, 7.0f);
  ASSERT_TRUE(opt->InitializeSlots({absl::MakeSpan(a), absl::MakeSpan(b), absl::MakeSpan(c)})
                  .ok());
  EXPECT_EQ(a, std::vector<float>(3, 1.0f));
  EXPECT_EQ(b, std::vector<float>(3, 0.0f));
  EXPECT_EQ(c, std::vector<float>(3, 0.0f));
  EXPECT_EQ(opt->InitializeSlots({absl::MakeSpan(a)}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OptimizerTest, ApplyRejectsBadArgumentsWithoutModifying) {
  auto opt = Create("learning_rate: 0.1 momentum { momentum: 0.9 }");
  ASSERT_NE(opt, nullptr);
  std::vector<float> var{1.0f, 2.0f}, accum{0.0f, 0.0f}, short_buf{0.0f};
  const std::vector<float> grad{1.0f, 1.0f}, short_grad{1.0f};
  auto var_span = absl::MakeSpan(var);

  absl::Status s = opt->Apply(var_span, short_grad, {absl::MakeSpan(accum)}, 0.1f, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "momentum: gradient has 1 elements, variable has 2");

  s = opt->Apply(var_span, grad, {}, 0.1f, 1);
  EXPECT_EQ(s.message(), "momentum needs 1 slots, got 0");

  s = opt->Apply(var_span, grad, {absl::MakeSpan(short_buf)}, 0.1f, 1);
  EXPECT_EQ(s.message(), "momentum: slot \"momentum\" has 1 elements, variable has 2");

  s = opt->Apply(var_span, grad, {absl::MakeSpan(accum)}, -0.1f, 1);
  EXPECT_EQ(s.message(), "momentum: learning rate must be >= 0 and finite, got -0.1");

  s = opt->Apply(var_span, grad, {absl::MakeSpan(accum)}, NAN, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);

  s = opt->Apply(var_span, grad, {absl::MakeSpan(accum)}, 0.1f, 0);
  EXPECT_EQ(s.message(), "momentum: step must be >= 1 (1-based update count), got 0");

  EXPECT_EQ(var, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(accum, (std::vector<float>{0.0f, 0.0f}));
}

TEST(OptimizerConfigTest, DefaultLearningRate) {
  EXPECT_FLOAT_EQ(BaseLearningRate(Config("adam {}")), 0.001f);
  EXPECT_FLOAT_EQ(BaseLearningRate(Config("learning_rate: 0.5 adam {}")), 0.5f);
  EXPECT_FLOAT_EQ(BaseLearningRate(Config("learning_rate: 0.01 sgd {}")), 0.01f);
  EXPECT_TRUE(CreateOptimizer(Config("adam {}")).ok());
}

struct BadConfig {
  const char* text;
  const char* message;
};

TEST(OptimizerConfigTest, InvalidConfigsNameTheField) {
  const BadConfig cases[] = {
      {"", "optimizer kind not set: one of sgd, momentum, adam, rmsprop, adagrad"},
      {"sgd {}", "learning_rate must be set (only adam has a default, 0.001)"},
      {"learning_rate: -0.1 sgd {}", "learning_rate must be >= 0 and finite, got -0.1"},
      {"learning_rate: inf sgd {}", "learning_rate must be >= 0 and finite, got inf"},
      {"learning_rate: 0.1 momentum {}", "momentum.momentum must be set, e.g. 0.9"},
      {"learning_rate: 0.1 momentum { momentum: 1 }",
       "momentum.momentum must be in [0, 1), got 1"},
      {"adam { beta1: -0.1 }", "adam.beta1 must be in [0, 1), got -0.1"},
      {"adam { beta2: 1 }", "adam.beta2 must be in [0, 1), got 1"},
      {"adam { epsilon: 0 }", "adam.epsilon must be > 0 and finite, got 0"},
      {"learning_rate: 0.1 rmsprop { decay: 1.5 }", "rmsprop.decay must be in [0, 1), got 1.5"},
      {"learning_rate: 0.1 rmsprop { momentum: -1 }",
       "rmsprop.momentum must be in [0, 1), got -1"},
      {"learning_rate: 0.1 rmsprop { epsilon: -1e-10 }",
       "rmsprop.epsilon must be > 0 and finite, got -1e-10"},
      {"learning_rate: 0.1 adagrad { initial_accumulator_value: 0 }",
       "adagrad.initial_accumulator_value must be > 0 and finite, got 0"},
      {"learning_rate: 0.1 sgd {} schedule { cosine_decay { decay_steps: 0 } }",
       "schedule.cosine_decay.decay_steps must be > 0, got 0"},
  };
  for (const BadConfig& c : cases) {
    absl::StatusOr<std::unique_ptr<Optimizer>> opt = CreateOptimizer(Config(c.text));
    EXPECT_EQ(opt.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(opt.status().message(), c.message) << c.text;
  }
}

TEST(OptimizerConfigTest, ExplicitZeroIsNotTheDefault) {
  // rmsprop { decay: 0 } is an explicit 0 (ms = g^2), not TensorFlow's 0.9:
  // ms = 0.25; var = 1 - 0.1*0.5/sqrt(0.25) = 0.9
  auto opt = Create("learning_rate: 0.1 rmsprop { decay: 0 }");
  ASSERT_NE(opt, nullptr);
  Scalar s(*opt, 1.0f);
  ASSERT_TRUE(s.Apply(*opt, 0.5f, 0.1f, 1).ok());
  EXPECT_NEAR(s.var[0], 0.9f, kTol);
}

}  // namespace
}  // namespace tessera
