#include "nn/dense.h"

#include <vector>

#include "gtest/gtest.h"
#include "nn/gradient_check.h"

namespace tessera {
namespace {

// y[n][j] = b[j] + sum_k x[n][k] * w[k][j], in double.
std::vector<double> NaiveDense(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t n = x.dim(0), in = w.dim(0), out = w.dim(1);
  std::vector<double> y(n * out);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < out; ++j) {
      double s = b[j];
      for (int64_t k = 0; k < in; ++k) s += double{x[i * in + k]} * w[k * out + j];
      y[i * out + j] = s;
    }
  }
  return y;
}

TEST(DenseLayerTest, ForwardMatchesNaiveReference) {
  // {3, 2, 2}: flattens 12 features.
  DenseLayer layer("fc", {3, 2, 2}, 7, ZerosInitializer(), ZerosInitializer());
  ASSERT_EQ(layer.output_shape(), Shape({7}));
  const auto vars = layer.Variables();
  ASSERT_EQ(vars.size(), 2u);
  EXPECT_EQ(vars[0].name, "fc/weights");
  EXPECT_EQ(vars[0].shape, Shape({12, 7}));
  EXPECT_EQ(vars[1].name, "fc/biases");
  EXPECT_EQ(vars[1].shape, Shape({7}));

  const Tensor x = RandomTensor({5, 3, 2, 2}, 1);
  const Tensor w = RandomTensor({12, 7}, 2);
  const Tensor b = RandomTensor({7}, 3);
  Tensor y;
  const Tensor* params[] = {&w, &b};
  layer.Forward(params, x, {}, &y);
  ASSERT_EQ(y.shape(), Shape({5, 7}));
  Tensor flat = x;
  ASSERT_TRUE(flat.Reshape({5, 12}).ok());
  const std::vector<double> want = NaiveDense(flat, w, b);
  for (int64_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-5) << i;
}

TEST(DenseLayerTest, GradientsMatchFiniteDifferences) {
  DenseLayer layer("fc", {6}, 4, ZerosInitializer(), ZerosInitializer());
  EXPECT_EQ(CheckLayerGradients(&layer, {RandomTensor({6, 4}, 4), RandomTensor({4}, 5)},
                                RandomTensor({3, 6}, 6)),
            0);
}

// A 3 -> 2 layer after Forward of two examples, with a hand-checked dy:
// dW = x^T dy = [1 4; 2 5; 3 6], db = [1 1], dx = dy W^T.
struct SmallDense {
  SmallDense() { layer.Forward(params, x, {}, &y); }
  DenseLayer layer{"fc", {3}, 2, ZerosInitializer(), ZerosInitializer()};
  const Tensor x{{2, 3}, {1, 2, 3, 4, 5, 6}};
  const Tensor w{{3, 2}, {1, -1, 0.5, 2, -2, 0}};
  const Tensor b{{2}, {0.1f, 0.2f}};
  const Tensor* params[2] = {&w, &b};
  const Tensor dy{{2, 2}, {1, 0, 0, 1}};
  Tensor y;
};

TEST(DenseLayerTest, BackwardMatchesNaiveFormulas) {
  SmallDense d;
  Tensor dx, dw({3, 2}), db({2});
  Tensor* grads[] = {&dw, &db};
  d.layer.Backward(d.params, d.x, d.y, d.dy, &dx, grads);
  EXPECT_EQ(dw.span(), absl::MakeConstSpan(std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(db.span(), absl::MakeConstSpan(std::vector<float>{1, 1}));
  EXPECT_EQ(dx.span(), absl::MakeConstSpan(std::vector<float>{1, 0.5, -2, -1, 2, 0}));
}

TEST(DenseLayerTest, WeightGradientByRowsAndSkippedInBackward) {
  SmallDense d;
  ASSERT_TRUE(d.layer.has_batch_product_weight_gradient());
  // Backward with no weight gradient asked for leaves it out, the rest as usual.
  Tensor dx, db({2});
  Tensor* grads[] = {nullptr, &db};
  d.layer.Backward(d.params, d.x, d.y, d.dy, &dx, grads);
  EXPECT_EQ(db.span(), absl::MakeConstSpan(std::vector<float>{1, 1}));
  EXPECT_EQ(dx.span(), absl::MakeConstSpan(std::vector<float>{1, 0.5, -2, -1, 2, 0}));
  // Rows [1, 3) of dW = x^T dy, then row 0; untouched rows keep their values.
  Tensor dw({3, 2}, {9, 9, 9, 9, 9, 9});
  d.layer.WeightGradientRows(d.x, d.dy, 1, 3, &dw);
  EXPECT_EQ(dw.span(), absl::MakeConstSpan(std::vector<float>{9, 9, 2, 5, 3, 6}));
  d.layer.WeightGradientRows(d.x, d.dy, 0, 1, &dw);
  EXPECT_EQ(dw.span(), absl::MakeConstSpan(std::vector<float>{1, 4, 2, 5, 3, 6}));
}

}  // namespace
}  // namespace tessera
