#include "nn/batch_norm.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "nn/blas_kernel.h"
#include "nn/gradient_check.h"

namespace tessera {
namespace {

// Per channel (last dim): mean and biased variance over all other positions.
std::vector<double> NaiveBatchNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                   double eps) {
  const int64_t c = gamma.size(), rows = x.size() / c;
  std::vector<double> y(x.size());
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0;
    for (int64_t r = 0; r < rows; ++r) mean += x[r * c + ch];
    mean /= rows;
    for (int64_t r = 0; r < rows; ++r) var += (x[r * c + ch] - mean) * (x[r * c + ch] - mean);
    var /= rows;
    for (int64_t r = 0; r < rows; ++r) {
      y[r * c + ch] = gamma[ch] * (x[r * c + ch] - mean) / std::sqrt(var + eps) + beta[ch];
    }
  }
  return y;
}

TEST(BatchNormLayerTest, Variables) {
  BatchNormLayer layer("bn1", {4, 4, 3}, 1e-3f);
  EXPECT_EQ(layer.decay(), 0.99f);
  const auto vars = layer.Variables();
  ASSERT_EQ(vars.size(), 4u);
  EXPECT_EQ(vars[0].name, "bn1/gamma");
  EXPECT_EQ(vars[0].shape, Shape({3}));
  EXPECT_EQ(vars[0].initializer.constant().value(), 1.0f);
  EXPECT_EQ(vars[0].kind, TRAINABLE);
  EXPECT_EQ(vars[1].name, "bn1/beta");
  EXPECT_TRUE(vars[1].initializer.has_zeros());
  EXPECT_EQ(vars[1].kind, TRAINABLE);
  EXPECT_EQ(vars[2].name, "bn1/moving_mean");
  EXPECT_EQ(vars[2].shape, Shape({3}));
  EXPECT_TRUE(vars[2].initializer.has_zeros());
  EXPECT_EQ(vars[2].kind, MOVING_AVERAGE);
  EXPECT_EQ(vars[3].name, "bn1/moving_variance");
  EXPECT_EQ(vars[3].initializer.constant().value(), 1.0f);
  EXPECT_EQ(vars[3].kind, MOVING_AVERAGE);
}

// Evaluation normalizes with the moving averages, whatever the batch:
// inv_std = 1 / sqrt(moving_variance + epsilon) = 1/2 and 1/4.
TEST(BatchNormLayerTest, EvaluationUsesTheMovingAverages) {
  BatchNormLayer layer("bn", {2}, /*epsilon=*/1.0f);
  const Tensor x({2, 2}, {1, 2, 3, 6});
  const Tensor gamma({2}, {2, 1}), beta({2}, {0.5f, 0});
  const Tensor moving_mean({2}, {1, 2}), moving_variance({2}, {3, 15});
  const Tensor* params[] = {&gamma, &beta, &moving_mean, &moving_variance};
  Tensor y;
  layer.Forward(params, x, ForwardOptions{}, &y);
  EXPECT_EQ(y.span(), Tensor({2, 2}, {0.5f, 0.0f, 2.5f, 1.0f}).span());
  // Training normalizes the same batch with its own statistics instead.
  layer.Forward(params, x, ForwardOptions{/*training=*/true}, &y);
  EXPECT_NE(y.span(), Tensor({2, 2}, {0.5f, 0.0f, 2.5f, 1.0f}).span());
}

// Channel 0: 1, 3, 5 (mean 3, biased variance 8/3, unbiased 4); channel 1:
// 2, 6, 4 (mean 4, unbiased variance 4). decay 0.75: delta = 0.25 * (var - stat).
TEST(BatchNormLayerTest, BackwardGivesTheMovingAverageDeltas) {
  BatchNormLayer layer("bn", {2}, 1e-3f, /*decay=*/0.75f);
  const Tensor x({3, 2}, {1, 2, 3, 6, 5, 4});
  const Tensor gamma({2}, {1, 1}), beta({2});
  const Tensor moving_mean({2}, {1, 2}), moving_variance({2}, {3, 15});
  const Tensor* params[] = {&gamma, &beta, &moving_mean, &moving_variance};
  Tensor y, dx;
  layer.Forward(params, x, ForwardOptions{/*training=*/true}, &y);
  Tensor dgamma({2}), dbeta({2}), dmean({2}), dvar({2});
  Tensor* grads[] = {&dgamma, &dbeta, &dmean, &dvar};
  layer.Backward(params, x, y, Tensor({3, 2}), &dx, grads);
  EXPECT_EQ(dmean.span(), Tensor({2}, {-0.5f, -0.5f}).span());
  EXPECT_EQ(dvar.span(), Tensor({2}, {-0.25f, 2.75f}).span());
  // A batch of one: the variance's n - 1 is taken as 1 (as TensorFlow does).
  const Tensor one({1, 2}, {7, 8});
  layer.Forward(params, one, ForwardOptions{/*training=*/true}, &y);
  layer.Backward(params, one, y, Tensor({1, 2}), &dx, grads);
  EXPECT_EQ(dmean.span(), Tensor({2}, {-1.5f, -1.5f}).span());
  EXPECT_EQ(dvar.span(), Tensor({2}, {0.75f, 3.75f}).span());
}

// The moving averages' deltas of one training step of x [rows, c] (decay 0,
// averages 0: -mean and -unbiased variance), on one and two layer threads,
// against the float data's statistics in double.
void ExpectBatchStatistics(const Tensor& x, double mean_error, double var_error) {
  const int64_t rows = x.shape()[0], c = x.shape()[1];
  const int saved = BlasThreads();
  for (int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    SetBlasThreads(threads);
    BatchNormLayer layer("bn", {c}, 1e-3f, /*decay=*/0.0f);
    Tensor gamma({c}), beta({c}), moving_mean({c}), moving_variance({c});
    gamma.Fill(1.0f);
    const Tensor* params[] = {&gamma, &beta, &moving_mean, &moving_variance};
    Tensor y, dx;
    layer.Forward(params, x, ForwardOptions{/*training=*/true}, &y);
    Tensor dgamma({c}), dbeta({c}), dmean({c}), dvar({c});
    Tensor* grads[] = {&dgamma, &dbeta, &dmean, &dvar};
    layer.Backward(params, x, y, Tensor({rows, c}), &dx, grads);
    for (int64_t ch = 0; ch < c; ++ch) {
      double mean = 0, m2 = 0;
      for (int64_t r = 0; r < rows; ++r) mean += x[r * c + ch];
      mean /= rows;
      for (int64_t r = 0; r < rows; ++r) m2 += (x[r * c + ch] - mean) * (x[r * c + ch] - mean);
      const double var = m2 / (rows - 1);
      EXPECT_NEAR(-dmean[ch], mean, mean_error * std::max(std::fabs(mean), 1.0)) << ch;
      EXPECT_NEAR(-dvar[ch], var, var_error * var) << ch;
    }
  }
  SetBlasThreads(saved);
}

// Data far from zero (mean 1000, standard deviation 0.1, so the variance is
// 1e-8 of the mean squared) over rows that are not a whole number of blocks.
// The statistics are one pass over x, each block taken about its first row;
// a one-pass form without that shift, the blocks' means in float, had missed
// the variance here by 8e-6 of itself.
TEST(BatchNormLayerTest, BatchStatisticsStayAccurateFarFromZero) {
  const int64_t rows = 4099, c = 3;
  Tensor x({rows, c});
  for (int64_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(1000.0 + 100.0 * (i % c) + 0.1 * std::sin(0.7 * i));
  }
  ExpectBatchStatistics(x, 1e-7, 1e-6);
}

// The same when the row a block is taken about is far from the others (every
// 16th row, the first of each block, 40 standard deviations out: the block's
// sums of d^2 and d lose digits to each other, measured 5e-7 of the variance),
// and for a constant channel (variance exactly 0, not a hair below).
TEST(BatchNormLayerTest, BatchStatisticsStayAccurateAboutAFarRow) {
  const int64_t rows = 1000, c = 20;
  Tensor x({rows, c});
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const double spread = r % 16 == 0 ? 40.0 : std::sin(0.37 * r + ch);
      x[r * c + ch] = ch == 0 ? 3.0f : static_cast<float>(ch + spread);
    }
  }
  ExpectBatchStatistics(x, 1e-7, 2e-6);
}

TEST(BatchNormLayerTest, EvaluationGradientsMatchFiniteDifferences) {
  BatchNormLayer layer("bn", {2, 3}, 1e-3f);
  GradientCheckOptions options;
  options.forward = ForwardOptions{};  // evaluation: the moving averages
  EXPECT_EQ(CheckLayerGradients(&layer,
                                {RandomTensor({3}, 4, 0.5f, 1.5f), RandomTensor({3}, 5),
                                 RandomTensor({3}, 10), RandomTensor({3}, 11, 0.5f, 2.0f)},
                                RandomTensor({4, 2, 3}, 6, -2.0f, 2.0f), options),
            0);
}

TEST(BatchNormLayerTest, ForwardMatchesNaiveReference) {
  BatchNormLayer layer("bn", {3, 2, 4}, 1e-3f);
  const Tensor x = RandomTensor({5, 3, 2, 4}, 1, -2.0f, 3.0f);
  const Tensor gamma = RandomTensor({4}, 2, 0.5f, 1.5f);
  const Tensor beta = RandomTensor({4}, 3);
  const Tensor moving_mean({4}), moving_variance({4});  // unused in training
  const Tensor* params[] = {&gamma, &beta, &moving_mean, &moving_variance};
  Tensor y;
  layer.Forward(params, x, ForwardOptions{/*training=*/true}, &y);
  const std::vector<double> want = NaiveBatchNorm(x, gamma, beta, 1e-3);
  for (int64_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-5) << i;
}

TEST(BatchNormLayerTest, GradientsMatchFiniteDifferences) {
  BatchNormLayer layer("bn", {2, 3}, 1e-3f);
  GradientCheckOptions options;
  options.epsilon = 3e-3;  // curvature of the normalization: a smaller step
  EXPECT_EQ(CheckLayerGradients(&layer,
                                {RandomTensor({3}, 4, 0.5f, 1.5f), RandomTensor({3}, 5),
                                 RandomTensor({3}, 10), RandomTensor({3}, 11, 0.5f, 2.0f)},
                                RandomTensor({4, 2, 3}, 6, -2.0f, 2.0f), options),
            0);
}

TEST(BatchNormLayerTest, DenseInputGradients) {
  BatchNormLayer layer("bn", {5}, 1e-3f);
  EXPECT_EQ(CheckLayerGradients(&layer,
                                {RandomTensor({5}, 7, 0.5f, 1.5f), RandomTensor({5}, 8),
                                 RandomTensor({5}, 12), RandomTensor({5}, 13, 0.5f, 2.0f)},
                                RandomTensor({6, 5}, 9, -2.0f, 2.0f)),
            0);
}

}  // namespace
}  // namespace tessera
