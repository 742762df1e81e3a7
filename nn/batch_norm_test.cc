#include "nn/batch_norm.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
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
  const auto vars = layer.Variables();
  ASSERT_EQ(vars.size(), 2u);
  EXPECT_EQ(vars[0].name, "bn1/gamma");
  EXPECT_EQ(vars[0].shape, Shape({3}));
  EXPECT_EQ(vars[0].initializer.constant().value(), 1.0f);
  EXPECT_EQ(vars[1].name, "bn1/beta");
  EXPECT_TRUE(vars[1].initializer.has_zeros());
}

TEST(BatchNormLayerTest, ForwardMatchesNaiveReference) {
  BatchNormLayer layer("bn", {3, 2, 4}, 1e-3f);
  const Tensor x = RandomTensor({5, 3, 2, 4}, 1, -2.0f, 3.0f);
  const Tensor gamma = RandomTensor({4}, 2, 0.5f, 1.5f);
  const Tensor beta = RandomTensor({4}, 3);
  const Tensor* params[] = {&gamma, &beta};
  Tensor y;
  layer.Forward(params, x, {}, &y);
  const std::vector<double> want = NaiveBatchNorm(x, gamma, beta, 1e-3);
  for (int64_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-5) << i;
}

TEST(BatchNormLayerTest, GradientsMatchFiniteDifferences) {
  BatchNormLayer layer("bn", {2, 3}, 1e-3f);
  GradientCheckOptions options;
  options.epsilon = 3e-3;  // curvature of the normalization: a smaller step
  EXPECT_EQ(CheckLayerGradients(&layer, {RandomTensor({3}, 4, 0.5f, 1.5f), RandomTensor({3}, 5)},
                                RandomTensor({4, 2, 3}, 6, -2.0f, 2.0f), options),
            0);
}

TEST(BatchNormLayerTest, DenseInputGradients) {
  BatchNormLayer layer("bn", {5}, 1e-3f);
  EXPECT_EQ(CheckLayerGradients(&layer, {RandomTensor({5}, 7, 0.5f, 1.5f), RandomTensor({5}, 8)},
                                RandomTensor({6, 5}, 9, -2.0f, 2.0f)),
            0);
}

}  // namespace
}  // namespace tessera
