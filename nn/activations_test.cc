#include "nn/activations.h"

#include <algorithm>
#include <cmath>

#include "gtest/gtest.h"
#include "nn/gradient_check.h"

namespace tessera {
namespace {

// Values in +-[0.1, 1]: away from ReLU's kink at 0 by more than the FD step.
Tensor AwayFromZero(const Shape& shape, uint64_t seed) {
  Tensor t = RandomTensor(shape, seed, -0.9f, 0.9f);
  for (int64_t i = 0; i < t.size(); ++i) t[i] += t[i] >= 0 ? 0.1f : -0.1f;
  return t;
}

TEST(ReluLayerTest, ForwardMatchesNaiveReference) {
  ReluLayer layer("relu", {3, 4});
  const Tensor x = RandomTensor({2, 3, 4}, 1);
  Tensor y;
  layer.Forward({}, x, {}, &y);
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i] < 0 ? 0.0f : x[i]) << i;
}

TEST(ReluLayerTest, GradientsMatchFiniteDifferences) {
  ReluLayer layer("relu", {3, 4});
  EXPECT_EQ(CheckLayerGradients(&layer, {}, AwayFromZero({2, 3, 4}, 2)), 0);
}

TEST(DropoutLayerTest, EvalIsIdentity) {
  DropoutLayer layer("dropout", {100}, 0.5f);
  const Tensor x = RandomTensor({3, 100}, 1);
  Tensor y, dx;
  layer.Forward({}, x, ForwardOptions{/*training=*/false, 1}, &y);
  EXPECT_EQ(y.span(), x.span());
  layer.Backward({}, x, y, x, &dx, {});
  EXPECT_EQ(dx.span(), x.span());
}

TEST(DropoutLayerTest, TrainingMatchesNaiveDefinition) {
  const float rate = 0.3f;
  DropoutLayer layer("dropout", {1000}, rate);
  const Tensor x = RandomTensor({10, 1000}, 1, 0.5f, 1.0f);  // nonzero
  Tensor y1, y2, y3;
  layer.Forward({}, x, ForwardOptions{true, 42}, &y1);
  layer.Forward({}, x, ForwardOptions{true, 42}, &y2);
  layer.Forward({}, x, ForwardOptions{true, 43}, &y3);
  EXPECT_EQ(y1.span(), y2.span()) << "same seed, same mask";
  int64_t kept = 0, differ = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    // Each element is either dropped or x / (1 - rate).
    if (y1[i] != 0.0f) {
      ++kept;
      EXPECT_NEAR(y1[i], x[i] / (1.0f - rate), 1e-6) << i;
    }
    if ((y1[i] == 0.0f) != (y3[i] == 0.0f)) ++differ;
  }
  // 10000 Bernoulli(0.7) draws: mean 7000, stddev ~46.
  EXPECT_NEAR(static_cast<double>(kept), 7000.0, 250.0);
  EXPECT_GT(differ, 3000) << "another seed gives another mask";
}

// A slice of a batch (example_offset = its first example) gets the rows of
// the whole batch's mask, also when a slice starts at an odd element.
TEST(DropoutLayerTest, SliceGetsTheWholeBatchMask) {
  const int64_t width = 7;  // odd: slices start at odd and even elements
  DropoutLayer whole_layer("dropout", {width}, 0.5f);
  const Tensor x = RandomTensor({9, width}, 5, 0.5f, 1.0f);
  Tensor whole;
  whole_layer.Forward({}, x, ForwardOptions{true, 77, 0}, &whole);
  for (int64_t begin = 0; begin < 9; ++begin) {
    for (int64_t end = begin + 1; end <= 9; ++end) {
      Tensor slice({end - begin, width});
      std::copy(x.data() + begin * width, x.data() + end * width, slice.data());
      DropoutLayer layer("dropout", {width}, 0.5f);
      Tensor y;
      layer.Forward({}, slice, ForwardOptions{true, 77, begin}, &y);
      for (int64_t i = 0; i < y.size(); ++i) {
        ASSERT_EQ(y[i], whole[begin * width + i])
            << "slice [" << begin << ", " << end << ") element " << i;
      }
    }
  }
}

TEST(DropoutLayerTest, GradientsMatchFiniteDifferences) {
  DropoutLayer layer("dropout", {5, 4}, 0.5f);
  EXPECT_EQ(CheckLayerGradients(&layer, {}, RandomTensor({3, 5, 4}, 3)), 0);
}

TEST(DropoutLayerTest, RateZeroKeepsEverything) {
  DropoutLayer layer("dropout", {50}, 0.0f);
  const Tensor x = RandomTensor({2, 50}, 4);
  Tensor y;
  layer.Forward({}, x, ForwardOptions{true, 5}, &y);
  EXPECT_EQ(y.span(), x.span());
}

}  // namespace
}  // namespace tessera
