#include "nn/global_pool.h"

#include <vector>

#include "gtest/gtest.h"
#include "nn/gradient_check.h"

namespace tessera {
namespace {

TEST(GlobalAvgPoolLayerTest, AveragesEachChannelOverThePositions) {
  GlobalAvgPoolLayer layer("gap", {3, 2, 4});
  ASSERT_EQ(layer.output_shape(), Shape({4}));
  const Tensor x = RandomTensor({2, 3, 2, 4}, 1);
  Tensor y;
  layer.Forward({}, x, {}, &y);
  ASSERT_EQ(y.shape(), Shape({2, 4}));
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t c = 0; c < 4; ++c) {
      double sum = 0;
      for (int64_t p = 0; p < 6; ++p) sum += x[(b * 6 + p) * 4 + c];
      EXPECT_NEAR(y[b * 4 + c], sum / 6, 1e-6) << b << " " << c;
    }
  }
}

TEST(GlobalAvgPoolLayerTest, GradientsMatchFiniteDifferences) {
  GlobalAvgPoolLayer layer("gap", {4, 3, 5});
  EXPECT_EQ(CheckLayerGradients(&layer, {}, RandomTensor({3, 4, 3, 5}, 2)), 0);
}

}  // namespace
}  // namespace tessera
