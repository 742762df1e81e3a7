#include "nn/conv2d.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"
#include "nn/blas_kernel.h"
#include "nn/conv_reference.h"
#include "nn/gradient_check.h"
#include "nn/layer_threads.h"

namespace tessera {
namespace {

struct ConvCase {
  int64_t h, w, cin, k, stride, cout;
  Padding padding;
};

class Conv2DTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2DTest, ForwardMatchesNaiveReference) {
  const ConvCase c = GetParam();
  Conv2DLayer layer("conv", {c.h, c.w, c.cin}, c.cout, c.k, c.stride, c.padding,
                    ZerosInitializer(), ZerosInitializer());
  const Tensor x = RandomTensor({2, c.h, c.w, c.cin}, 1);
  const Tensor w = RandomTensor({c.k, c.k, c.cin, c.cout}, 2);
  const Tensor b = RandomTensor({c.cout}, 3);
  const Tensor* params[] = {&w, &b};
  Tensor y;
  layer.Forward(params, x, {}, &y);
  int64_t oh = 0, ow = 0;
  const std::vector<double> want = NaiveConv(x, w, b, c.stride, c.padding == SAME, &oh, &ow);
  ASSERT_EQ(y.shape(), Shape({2, oh, ow, c.cout}));
  for (int64_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-4) << i;
}

TEST_P(Conv2DTest, GradientsMatchFiniteDifferences) {
  const ConvCase c = GetParam();
  Conv2DLayer layer("conv", {c.h, c.w, c.cin}, c.cout, c.k, c.stride, c.padding,
                    ZerosInitializer(), ZerosInitializer());
  EXPECT_EQ(CheckLayerGradients(&layer,
                                {RandomTensor({c.k, c.k, c.cin, c.cout}, 4),
                                 RandomTensor({c.cout}, 5)},
                                RandomTensor({2, c.h, c.w, c.cin}, 6)),
            0);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2DTest,
    ::testing::Values(ConvCase{5, 5, 3, 3, 1, 4, SAME},   // odd kernel, SAME
                      ConvCase{6, 5, 2, 2, 1, 3, SAME},   // even kernel: uneven padding
                      ConvCase{7, 6, 2, 3, 2, 3, SAME},   // stride 2
                      ConvCase{6, 6, 1, 5, 1, 2, SAME},   // kernel wider than half the image
                      ConvCase{6, 7, 2, 3, 2, 2, VALID},  // VALID, stride 2
                      ConvCase{4, 4, 1, 1, 1, 3, VALID}));

// A batch spanning several chunks of several images each (so the per-chunk
// offsets and the dW accumulation across chunks run) against the naive
// reference, on 1 thread and on 2 (the batch cut into two parts of images, each
// on single-threaded OpenBLAS, dW adding the parts' sums); OpenBLAS's thread
// count is back afterwards.
TEST(Conv2DChunkTest, MultiChunkBatchMatchesNaiveReference) {
  const int64_t n = 9, h = 32, wd = 32, cin = 13, k = 5, cout = 3;
  const Tensor x = RandomTensor({n, h, wd, cin}, 7);
  const Tensor w = RandomTensor({k, k, cin, cout}, 8);
  const Tensor b = RandomTensor({cout}, 9);
  const Tensor* params[] = {&w, &b};
  int64_t oh = 0, ow = 0;
  const std::vector<double> want_y = NaiveConv(x, w, b, 1, true, &oh, &ow);
  const Tensor dy = RandomTensor({n, h, wd, cout}, 10);
  std::vector<double> want_dx, want_dw, want_db;
  NaiveConvBackward(x, w, dy, &want_dx, &want_dw, &want_db);
  const int saved = BlasThreads();
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    SetBlasThreads(threads);
    ASSERT_EQ(LayerParts(n, 1), threads);
    Conv2DLayer layer("conv", {h, wd, cin}, cout, k, 1, SAME, ZerosInitializer(),
                      ZerosInitializer());
    ASSERT_GT(layer.ChunkImages(n / threads), 1);
    ASSERT_LT(layer.ChunkImages(n / threads), n / threads);
    Tensor y;
    layer.Forward(params, x, {}, &y);
    ASSERT_EQ(y.shape(), Shape({n, h, wd, cout}));
    for (int64_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want_y[i], 1e-4) << i;

    Tensor dx, dw(w.shape()), db(b.shape());
    Tensor* grads[] = {&dw, &db};
    layer.Backward(params, x, y, dy, &dx, grads);
    EXPECT_EQ(BlasThreads(), threads);
    ASSERT_EQ(dx.shape(), x.shape());
    for (int64_t i = 0; i < dx.size(); ++i) ASSERT_NEAR(dx[i], want_dx[i], 1e-4) << i;
    for (int64_t i = 0; i < dw.size(); ++i) ASSERT_NEAR(dw[i], want_dw[i], 2e-3) << i;
    for (int64_t i = 0; i < db.size(); ++i) ASSERT_NEAR(db[i], want_db[i], 2e-3) << i;
  }
  SetBlasThreads(saved);
}

// The convolutions of ResNet: its 7x7 stride 2 stem, 3x3 stride 2 and 1x1
// stride 2 (projection shortcuts) downsampling, on odd and even sizes, with and
// without biases (a convolution before batch norm has none).
struct StridedCase {
  int64_t h, k, stride;
  Padding padding;
  bool use_bias;
};

class StridedConv2DTest : public ::testing::TestWithParam<StridedCase> {};

TEST_P(StridedConv2DTest, MatchesNaiveReferenceAndFiniteDifferences) {
  const StridedCase c = GetParam();
  const int64_t cin = 2, cout = 3;
  Conv2DLayer layer("conv", {c.h, c.h, cin}, cout, c.k, c.stride, c.padding,
                    ZerosInitializer(), ZerosInitializer(), c.use_bias);
  ASSERT_EQ(layer.Variables().size(), c.use_bias ? 2u : 1u);
  EXPECT_EQ(layer.Variables()[0].shape, Shape({c.k, c.k, cin, cout}));
  const PaddedDim out = ComputePaddedDim(c.h, c.k, c.stride, c.padding);
  EXPECT_EQ(layer.output_shape(), Shape({out.out, out.out, cout}));
  EXPECT_EQ(layer.MultiplyAddsPerExample(), out.out * out.out * c.k * c.k * cin * cout);

  const Tensor x = RandomTensor({2, c.h, c.h, cin}, 11);
  const Tensor w = RandomTensor({c.k, c.k, cin, cout}, 12);
  const Tensor b = c.use_bias ? RandomTensor({cout}, 13) : Tensor({cout});
  std::vector<const Tensor*> params = {&w};
  if (c.use_bias) params.push_back(&b);
  Tensor y;
  layer.Forward(params, x, {}, &y);
  int64_t oh = 0, ow = 0;
  const std::vector<double> want = NaiveConv(x, w, b, c.stride, c.padding == SAME, &oh, &ow);
  ASSERT_EQ(y.shape(), Shape({2, oh, ow, cout}));
  for (int64_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-4) << i;

  std::vector<Tensor> check_params = {RandomTensor({c.k, c.k, cin, cout}, 14)};
  if (c.use_bias) check_params.push_back(RandomTensor({cout}, 15));
  EXPECT_EQ(CheckLayerGradients(&layer, check_params, RandomTensor({2, c.h, c.h, cin}, 16)), 0);
}

INSTANTIATE_TEST_SUITE_P(
    ResNet, StridedConv2DTest,
    ::testing::Values(StridedCase{11, 7, 2, SAME, false},   // stem, odd size
                      StridedCase{12, 7, 2, SAME, true},    // stem, even size
                      StridedCase{8, 3, 2, SAME, false},    // downsampling 3x3
                      StridedCase{7, 3, 2, SAME, false},
                      StridedCase{8, 1, 2, SAME, false},    // projection shortcut
                      StridedCase{7, 1, 2, VALID, false},
                      StridedCase{5, 1, 1, SAME, false}));  // bottleneck 1x1

TEST(ComputePaddedDimTest, MatchesTensorFlow) {
  // SAME: 28 / 1 with k 5 -> 28 out, 4 padding, 2 before.
  EXPECT_EQ(ComputePaddedDim(28, 5, 1, SAME).out, 28);
  EXPECT_EQ(ComputePaddedDim(28, 5, 1, SAME).pad_before, 2);
  // SAME: 7 / 2 with k 2 -> 4 out, total padding 1, 0 before.
  EXPECT_EQ(ComputePaddedDim(7, 2, 2, SAME).out, 4);
  EXPECT_EQ(ComputePaddedDim(7, 2, 2, SAME).pad_before, 0);
  EXPECT_EQ(ComputePaddedDim(7, 3, 2, VALID).out, 3);
  EXPECT_EQ(ComputePaddedDim(2, 3, 1, VALID).out, 0);
}

}  // namespace
}  // namespace tessera
