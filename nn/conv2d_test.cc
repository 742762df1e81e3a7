#include "nn/conv2d.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
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
  Conv2DLayer layer("conv", {c.h, c.w, c.cin}, c.cout, c.k, c.stride, c.padding, ZerosInitializer(),
                    ZerosInitializer());
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
  Conv2DLayer layer("conv", {c.h, c.w, c.cin}, c.cout, c.k, c.stride, c.padding, ZerosInitializer(),
                    ZerosInitializer());
  EXPECT_EQ(CheckLayerGradients(
                &layer, {RandomTensor({c.k, c.k, c.cin, c.cout}, 4), RandomTensor({c.cout}, 5)},
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

// The layer's forward (input [h, w, cin], a k x k kernel) on a batch of 2
// against the naive reference, and its gradients by finite differences.
void ExpectNaiveForwardAndGradients(Conv2DLayer* layer, int64_t h, int64_t w, int64_t cin,
                                    int64_t cout, int64_t k, int64_t stride, Padding padding,
                                    bool use_bias) {
  const Tensor x = RandomTensor({2, h, w, cin}, 11);
  const Tensor weights = RandomTensor({k, k, cin, cout}, 12);
  const Tensor b = use_bias ? RandomTensor({cout}, 13) : Tensor({cout});
  std::vector<const Tensor*> params = {&weights};
  if (use_bias) params.push_back(&b);
  Tensor y;
  layer->Forward(params, x, {}, &y);
  int64_t oh = 0, ow = 0;
  const std::vector<double> want = NaiveConv(x, weights, b, stride, padding == SAME, &oh, &ow);
  ASSERT_EQ(y.shape(), Shape({2, oh, ow, cout}));
  for (int64_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-4) << i;

  std::vector<Tensor> check_params = {RandomTensor({k, k, cin, cout}, 14)};
  if (use_bias) check_params.push_back(RandomTensor({cout}, 15));
  EXPECT_EQ(CheckLayerGradients(layer, check_params, RandomTensor({2, h, w, cin}, 16)), 0);
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
  Conv2DLayer layer("conv", {c.h, c.h, cin}, cout, c.k, c.stride, c.padding, ZerosInitializer(),
                    ZerosInitializer(), c.use_bias);
  ASSERT_EQ(layer.Variables().size(), c.use_bias ? 2u : 1u);
  EXPECT_EQ(layer.Variables()[0].shape, Shape({c.k, c.k, cin, cout}));
  const PaddedDim out = ComputePaddedDim(c.h, c.k, c.stride, c.padding);
  EXPECT_EQ(layer.output_shape(), Shape({out.out, out.out, cout}));
  EXPECT_EQ(layer.MultiplyAddsPerExample(), out.out * out.out * c.k * c.k * cin * cout);

  ExpectNaiveForwardAndGradients(&layer, c.h, c.h, cin, cout, c.k, c.stride, c.padding, c.use_bias);
}

INSTANTIATE_TEST_SUITE_P(ResNet, StridedConv2DTest,
                         ::testing::Values(StridedCase{11, 7, 2, SAME, false},  // stem, odd size
                                           StridedCase{12, 7, 2, SAME, true},   // stem, even size
                                           StridedCase{8, 3, 2, SAME, false},   // downsampling 3x3
                                           StridedCase{7, 3, 2, SAME, false},
                                           StridedCase{8, 1, 2, SAME,
                                                       false},  // projection shortcut
                                           StridedCase{7, 1, 2, VALID, false},
                                           StridedCase{5, 1, 1, SAME, false}));  // bottleneck 1x1

// The tap-by-tap algorithm (nn/tap_conv.h) on the shapes it is chosen for and
// beyond: forward against the naive reference, gradients by finite differences.
struct TapsCase {
  int64_t h, w, k, stride;
  Padding padding;
  bool use_bias;
};

class TapsConv2DTest : public ::testing::TestWithParam<TapsCase> {};

TEST_P(TapsConv2DTest, MatchesNaiveReferenceAndFiniteDifferences) {
  const TapsCase c = GetParam();
  const int64_t cin = 3, cout = 4;
  Conv2DLayer layer("conv", {c.h, c.w, cin}, cout, c.k, c.stride, c.padding, ZerosInitializer(),
                    ZerosInitializer(), c.use_bias, ConvAlgorithm::kTaps);
  ASSERT_EQ(layer.algorithm(), ConvAlgorithm::kTaps);
  ExpectNaiveForwardAndGradients(&layer, c.h, c.w, cin, cout, c.k, c.stride, c.padding, c.use_bias);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, TapsConv2DTest,
    ::testing::Values(TapsCase{2, 2, 3, 1, SAME, false},    // ResNet-18's last stage at 64x64
                      TapsCase{4, 4, 3, 2, SAME, false},    // its downsampling into that stage
                      TapsCase{1, 1, 3, 1, SAME, true},     // a 1x1 map: the centre tap only
                      TapsCase{4, 3, 1, 2, SAME, false},    // projection shortcut, uneven
                      TapsCase{5, 4, 7, 2, SAME, true},     // stem-like 7x7, uneven padding
                      TapsCase{6, 5, 3, 1, VALID, true},    // larger maps than auto picks
                      TapsCase{5, 5, 2, 2, SAME, false}));  // even kernel

// Auto picks the tap-by-tap algorithm for maps of at most 4 output pixels,
// and Winograd or im2col above.
TEST(TapsConv2DTest, AutoChoosesTapsForSmallMaps) {
  const auto algorithm = [](int64_t h, int64_t k, int64_t stride) {
    return Conv2DLayer("conv", {h, h, 32}, 32, k, stride, SAME, ZerosInitializer(),
                       ZerosInitializer())
        .algorithm();
  };
  EXPECT_EQ(algorithm(2, 3, 1), ConvAlgorithm::kTaps);
  EXPECT_EQ(algorithm(4, 3, 2), ConvAlgorithm::kTaps);
  EXPECT_EQ(algorithm(4, 1, 2), ConvAlgorithm::kTaps);
  EXPECT_EQ(algorithm(2, 1, 1), ConvAlgorithm::kGemm1x1);
  EXPECT_EQ(algorithm(3, 3, 1), ConvAlgorithm::kWinograd);
  EXPECT_EQ(algorithm(6, 3, 2), ConvAlgorithm::kIm2Col);
}

// At ResNet's channel counts the output channels are cut over the layer
// threads: 1 and 2 threads give the im2col algorithm's results (forward, dx,
// dW), and OpenBLAS's thread count is back afterwards.
TEST(TapsConv2DTest, TwoThreadsMatchIm2Col) {
  const int64_t n = 5, cin = 128, cout = 160;
  // ResNet-18's 2x2 maps at 64x64 input (h 2, stride 1; h 4, stride 2) and a
  // 4x4 map at stride 1, where auto would choose Winograd.
  for (const auto& [h, stride] : {std::pair<int64_t, int64_t>{4, 1}, {4, 2}, {2, 1}}) {
    SCOPED_TRACE(absl::StrCat("h ", h, " stride ", stride));
    const Tensor x = RandomTensor({n, h, h, cin}, 31);
    const Tensor w = RandomTensor({3, 3, cin, cout}, 32);
    const Tensor* params[] = {&w};
    Conv2DLayer im2col("conv", {h, h, cin}, cout, 3, stride, SAME, ZerosInitializer(),
                       ZerosInitializer(), false, ConvAlgorithm::kIm2Col);
    Tensor want_y, want_dx, want_dw(w.shape());
    Tensor* want_grads[] = {&want_dw};
    im2col.Forward(params, x, {}, &want_y);
    const Tensor dy = RandomTensor(want_y.shape(), 33);
    im2col.Backward(params, x, want_y, dy, &want_dx, want_grads);
    const int saved = BlasThreads();
    for (const int threads : {1, 2}) {
      SCOPED_TRACE(threads);
      SetBlasThreads(threads);
      Conv2DLayer taps("conv", {h, h, cin}, cout, 3, stride, SAME, ZerosInitializer(),
                       ZerosInitializer(), false, ConvAlgorithm::kTaps);
      Tensor y, dx, dw(w.shape());
      Tensor* grads[] = {&dw};
      taps.Forward(params, x, {}, &y);
      taps.Backward(params, x, y, dy, &dx, grads);
      EXPECT_EQ(BlasThreads(), threads);
      ASSERT_EQ(y.shape(), want_y.shape());
      ASSERT_EQ(dx.shape(), want_dx.shape());
      for (int64_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want_y[i], 1e-3) << i;
      for (int64_t i = 0; i < dx.size(); ++i) ASSERT_NEAR(dx[i], want_dx[i], 1e-3) << i;
      for (int64_t i = 0; i < dw.size(); ++i) ASSERT_NEAR(dw[i], want_dw[i], 1e-3) << i;
    }
    SetBlasThreads(saved);
  }
}

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
