#include "nn/loss.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "nn/gradient_check.h"

namespace tessera {
namespace {

// -log softmax(z)[label] straight from the definition, in double.
double NaiveXent(const float* z, int classes, int label) {
  double sum = 0;
  for (int j = 0; j < classes; ++j) sum += std::exp(double{z[j]});
  return -std::log(std::exp(double{z[label]}) / sum);
}

TEST(SoftmaxCrossEntropyTest, MatchesNaiveReference) {
  const Tensor logits = RandomTensor({4, 5}, 1, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {0, 4, 2, 2};
  Tensor grad;
  const LossValue v = SoftmaxCrossEntropy(logits, labels, &grad);
  double sum = 0;
  int64_t correct = 0;
  for (int i = 0; i < 4; ++i) {
    sum += NaiveXent(logits.data() + i * 5, 5, labels[i]);
    int best = 0;
    for (int j = 1; j < 5; ++j) best = logits[i * 5 + j] > logits[i * 5 + best] ? j : best;
    correct += best == labels[i];
  }
  EXPECT_NEAR(v.example_sum, sum, 1e-5);
  EXPECT_NEAR(v.loss, sum / 4, 1e-6);
  EXPECT_EQ(v.correct, correct);
  ASSERT_EQ(grad.shape(), logits.shape());
}

TEST(SoftmaxCrossEntropyTest, StableForLargeLogits) {
  const Tensor logits({1, 3}, {1000.0f, 0.0f, -1000.0f});
  const LossValue v = SoftmaxCrossEntropy(logits, std::vector<int32_t>{1}, nullptr);
  EXPECT_NEAR(v.loss, 1000.0, 1e-3);
  EXPECT_EQ(v.correct, 0);
}

TEST(SoftmaxCrossEntropyTest, GradientMatchesFiniteDifferences) {
  Tensor logits = RandomTensor({3, 4}, 2, -2.0f, 2.0f);
  const std::vector<int32_t> labels = {3, 0, 1};
  Tensor grad;
  SoftmaxCrossEntropy(logits, labels, &grad);
  const double eps = 1e-2;
  for (int64_t i = 0; i < logits.size(); ++i) {
    const float saved = logits[i];
    logits[i] = saved + eps;
    const double plus = SoftmaxCrossEntropy(logits, labels, nullptr).loss;
    logits[i] = saved - eps;
    const double minus = SoftmaxCrossEntropy(logits, labels, nullptr).loss;
    logits[i] = saved;
    EXPECT_NEAR(grad[i], (plus - minus) / (2 * eps), 2e-4) << i;
  }
}

// Zero logits over 4 classes: softmax 1/4 each. Targets with label smoothing
// 0.2: 0.05 off the label, 0.85 on it; every example's loss is log 4 whatever
// the targets, and the gradient is (1/4 - target) / N.
TEST(SoftmaxCrossEntropyTest, LabelSmoothingTargets) {
  const Tensor logits({2, 4});
  const std::vector<int32_t> labels = {1, 3};
  Tensor grad;
  const LossValue v = SoftmaxCrossEntropy(logits, labels, &grad, 0.2f);
  EXPECT_NEAR(v.loss, std::log(4.0), 1e-7);
  EXPECT_NEAR(v.example_sum, 2 * std::log(4.0), 1e-7);
  const float on = (0.25f - 0.85f) / 2, off = (0.25f - 0.05f) / 2;
  const std::vector<float> want = {off, on, off, off, off, off, off, on};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(grad[i], want[i], 1e-7) << i;
}

// Unequal logits: loss = -sum_j t_j log p_j from the definition.
TEST(SoftmaxCrossEntropyTest, LabelSmoothingMatchesNaiveReference) {
  const Tensor logits = RandomTensor({3, 5}, 5, -3.0f, 3.0f);
  const std::vector<int32_t> labels = {4, 0, 2};
  const float ls = 0.1f;
  double want = 0;
  for (int i = 0; i < 3; ++i) {
    const float* z = logits.data() + i * 5;
    for (int j = 0; j < 5; ++j) {
      const double t = (j == labels[i] ? 1.0 - ls : 0.0) + ls / 5.0;
      want += t * NaiveXent(z, 5, j);
    }
  }
  const LossValue v = SoftmaxCrossEntropy(logits, labels, nullptr, ls);
  EXPECT_NEAR(v.example_sum, want, 1e-5);
  EXPECT_NEAR(v.loss, want / 3, 1e-6);
}

TEST(SoftmaxCrossEntropyTest, LabelSmoothingGradientMatchesFiniteDifferences) {
  Tensor logits = RandomTensor({3, 4}, 6, -2.0f, 2.0f);
  const std::vector<int32_t> labels = {2, 2, 0};
  Tensor grad;
  SoftmaxCrossEntropy(logits, labels, &grad, 0.3f);
  const double eps = 1e-2;
  for (int64_t i = 0; i < logits.size(); ++i) {
    const float saved = logits[i];
    logits[i] = saved + eps;
    const double plus = SoftmaxCrossEntropy(logits, labels, nullptr, 0.3f).loss;
    logits[i] = saved - eps;
    const double minus = SoftmaxCrossEntropy(logits, labels, nullptr, 0.3f).loss;
    logits[i] = saved;
    EXPECT_NEAR(grad[i], (plus - minus) / (2 * eps), 2e-4) << i;
  }
}

TEST(MeanSquaredErrorTest, MeanAndSumMatchNaiveReference) {
  const Tensor p({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor t({2, 3}, {1, 0, 3, 0, 5, 8});
  // Squared differences: 0 4 0 / 16 0 4 -> sum 24, mean 4; per example 4/3 and 20/3.
  Tensor grad;
  LossValue mean = MeanSquaredError(p, t, MeanSquaredErrorLoss::MEAN, &grad);
  EXPECT_DOUBLE_EQ(mean.loss, 4.0);
  EXPECT_NEAR(mean.example_sum, 8.0, 1e-12);  // 4/3 + 20/3
  EXPECT_NEAR(grad[1], 2.0 * 2 / 6, 1e-7);
  EXPECT_NEAR(grad[5], 2.0 * -2 / 6, 1e-7);
  LossValue sum = MeanSquaredError(p, t, MeanSquaredErrorLoss::SUM, &grad);
  EXPECT_DOUBLE_EQ(sum.loss, 24.0);
  EXPECT_DOUBLE_EQ(sum.example_sum, 24.0);
  EXPECT_FLOAT_EQ(grad[3], 8.0f);
  EXPECT_EQ(sum.correct, 0);
}

TEST(MeanSquaredErrorTest, GradientMatchesFiniteDifferences) {
  for (auto reduction : {MeanSquaredErrorLoss::MEAN, MeanSquaredErrorLoss::SUM}) {
    Tensor p = RandomTensor({3, 2}, 3);
    const Tensor t = RandomTensor({3, 2}, 4);
    Tensor grad;
    MeanSquaredError(p, t, reduction, &grad);
    const double eps = 1e-2;
    for (int64_t i = 0; i < p.size(); ++i) {
      const float saved = p[i];
      p[i] = saved + eps;
      const double plus = MeanSquaredError(p, t, reduction, nullptr).loss;
      p[i] = saved - eps;
      const double minus = MeanSquaredError(p, t, reduction, nullptr).loss;
      p[i] = saved;
      EXPECT_NEAR(grad[i], (plus - minus) / (2 * eps), 1e-4) << reduction << " " << i;
    }
  }
}

}  // namespace
}  // namespace tessera
