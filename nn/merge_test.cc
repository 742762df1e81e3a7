#include "nn/merge.h"

#include <vector>

#include "gtest/gtest.h"
#include "nn/gradient_check.h"

namespace tessera {
namespace {

TEST(AddLayerTest, SumsItsInputs) {
  AddLayer layer("add", {{2, 2, 3}, {2, 2, 3}, {2, 2, 3}});
  EXPECT_EQ(layer.output_shape(), Shape({2, 2, 3}));
  const Tensor a = RandomTensor({2, 2, 2, 3}, 1);
  const Tensor b = RandomTensor({2, 2, 2, 3}, 2);
  const Tensor c = RandomTensor({2, 2, 2, 3}, 3);
  const Tensor* inputs[] = {&a, &b, &c};
  Tensor y;
  layer.ForwardInputs({}, inputs, {}, &y);
  ASSERT_EQ(y.shape(), a.shape());
  for (int64_t i = 0; i < y.size(); ++i) EXPECT_FLOAT_EQ(y[i], a[i] + b[i] + c[i]) << i;
}

TEST(AddLayerTest, GradientsMatchFiniteDifferences) {
  AddLayer layer("add", {{3, 2, 2}, {3, 2, 2}});
  EXPECT_EQ(CheckMultiInputLayerGradients(
                &layer, {}, {RandomTensor({2, 3, 2, 2}, 4), RandomTensor({2, 3, 2, 2}, 5)}),
            0);
}

TEST(AddLayerTest, SkipsTheGradientsOfInputsWithoutOne) {
  AddLayer layer("add", {{4}, {4}});
  const Tensor a = RandomTensor({2, 4}, 1), b = RandomTensor({2, 4}, 2);
  const Tensor* inputs[] = {&a, &b};
  Tensor y;
  layer.ForwardInputs({}, inputs, {}, &y);
  const Tensor dy = RandomTensor({2, 4}, 3);
  Tensor db;
  Tensor* grads[] = {nullptr, &db};
  layer.BackwardInputs({}, inputs, y, dy, grads, {});
  EXPECT_EQ(db.span(), dy.span());
}

// Past one chunk of the backward's copies (4,096 floats) and split over the
// layer threads: every input gets dy where the fused ReLU's output is
// positive, 0 elsewhere.
TEST(AddLayerTest, EveryInputGetsTheMaskedGradientOfALargeFusedAdd) {
  AddLayer layer("add", {{9001}, {9001}, {9001}});
  ASSERT_TRUE(layer.FuseRelu());
  const Tensor a = RandomTensor({3, 9001}, 1), b = RandomTensor({3, 9001}, 2),
               c = RandomTensor({3, 9001}, 3);
  const Tensor* inputs[] = {&a, &b, &c};
  Tensor y;
  layer.ForwardInputs({}, inputs, {}, &y);
  const Tensor dy = RandomTensor({3, 9001}, 4);
  Tensor da, dc;
  Tensor* grads[] = {&da, nullptr, &dc};
  layer.BackwardInputs({}, inputs, y, dy, grads, {});
  int64_t masked = 0;
  for (int64_t i = 0; i < dy.size(); ++i) {
    const float want = y[i] > 0.0f ? dy[i] : 0.0f;
    masked += y[i] > 0.0f ? 0 : 1;
    ASSERT_EQ(da[i], want) << i;
    ASSERT_EQ(dc[i], want) << i;
  }
  EXPECT_GT(masked, 0);
}

TEST(ConcatLayerTest, JoinsTheLastDimensionInInputOrder) {
  ConcatLayer layer("concat", {{2, 1, 2}, {2, 1, 3}});
  ASSERT_EQ(layer.output_shape(), Shape({2, 1, 5}));
  // One example: positions (0, 0) and (1, 0).
  const Tensor a({1, 2, 1, 2}, {1, 2, 3, 4});
  const Tensor b({1, 2, 1, 3}, {10, 20, 30, 40, 50, 60});
  const Tensor* inputs[] = {&a, &b};
  Tensor y;
  layer.ForwardInputs({}, inputs, {}, &y);
  ASSERT_EQ(y.shape(), Shape({1, 2, 1, 5}));
  EXPECT_EQ(y.span(), Tensor({1, 2, 1, 5}, {1, 2, 10, 20, 30, 3, 4, 40, 50, 60}).span());
}

TEST(ConcatLayerTest, GradientsMatchFiniteDifferences) {
  ConcatLayer layer("concat", {{3, 3, 2}, {3, 3, 1}, {3, 3, 4}});
  EXPECT_EQ(layer.output_shape(), Shape({3, 3, 7}));
  EXPECT_EQ(CheckMultiInputLayerGradients(&layer, {},
                                          {RandomTensor({2, 3, 3, 2}, 6),
                                           RandomTensor({2, 3, 3, 1}, 7),
                                           RandomTensor({2, 3, 3, 4}, 8)}),
            0);
}

TEST(ConcatLayerTest, ConcatenatesFeatureVectors) {
  ConcatLayer layer("concat", {{2}, {3}});
  EXPECT_EQ(layer.output_shape(), Shape({5}));
  EXPECT_EQ(CheckMultiInputLayerGradients(
                &layer, {}, {RandomTensor({3, 2}, 9), RandomTensor({3, 3}, 10)}),
            0);
}

}  // namespace
}  // namespace tessera
