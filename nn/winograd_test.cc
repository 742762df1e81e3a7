#include "nn/winograd.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "gtest/gtest.h"
#include "nn/blas_kernel.h"
#include "nn/conv2d.h"
#include "nn/conv_reference.h"
#include "nn/gradient_check.h"
#include "nn/layer_threads.h"

namespace tessera {
namespace {

struct WinogradCase {
  int64_t n, h, w, cin, cout;
};

// Largest |got - want| over the largest |want|: the error relative to the
// output's scale.
double RelativeError(const float* got, const std::vector<double>& want) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  return err / std::max(scale, 1e-30);
}

// The algorithms: F(2x2, 3x3), F(4x4, 3x3), F(4x4, 5x5).
struct Variant {
  int tile, kernel;
};
constexpr Variant kVariants[] = {{2, 3}, {4, 3}, {4, 5}};

// The largest error allowed relative to the output's scale: measured at most
// 5e-7 for F(2x2, 3x3), 7.1e-6 for F(4x4, 3x3) and 8.6e-6 for F(4x4, 5x5) over
// these cases.
double ErrorBound(const Variant& v) { return v.tile == 2 ? 2e-6 : 2e-5; }

class WinogradTest : public ::testing::TestWithParam<WinogradCase> {};

// Forward, dx and dw against the direct sum in double, with every variant.
// F(2x2, 3x3)'s transforms only add, subtract and halve, so the error stays at
// float rounding: a few 1e-7 of the output's scale; F(4x4, 3x3)'s constants
// (up to 8 and down to 1/24) and F(4x4, 5x5)'s (8 and 1/90) make it several
// times larger (docs/models.md).
TEST_P(WinogradTest, MatchesDirectConvolution) {
  const WinogradCase c = GetParam();
  const Tensor x = RandomTensor({c.n, c.h, c.w, c.cin}, 21);
  const Tensor no_bias({c.cout});
  const Tensor dy = RandomTensor({c.n, c.h, c.w, c.cout}, 23);
  for (const Variant& v : kVariants) {
    SCOPED_TRACE(v.tile * 10 + v.kernel);
    const int tile = v.tile;
    const Tensor w = RandomTensor({v.kernel, v.kernel, c.cin, c.cout}, 22);
    int64_t oh = 0, ow = 0;
    const std::vector<double> want_y = NaiveConv(x, w, no_bias, 1, true, &oh, &ow);
    std::vector<double> want_dx, want_dw, want_db;
    NaiveConvBackward(x, w, dy, &want_dx, &want_dw, &want_db);
    WinogradConv wino(c.h, c.w, c.cin, c.cout, tile, v.kernel);
    ASSERT_EQ(wino.tile(), tile);
    ASSERT_EQ(wino.kernel(), v.kernel);
    Tensor y({c.n, c.h, c.w, c.cout});
    wino.Forward(x.data(), w.data(), c.n, y.data());
    Tensor dx(x.shape()), dw(w.shape());
    dx.Fill(std::nanf(""));  // Backward overwrites every cell, edges included
    wino.Backward(x.data(), dy.data(), c.n, dx.data(), dw.data());
    const double fwd = RelativeError(y.data(), want_y);
    const double bwd_x = RelativeError(dx.data(), want_dx);
    const double bwd_w = RelativeError(dw.data(), want_dw);
    std::printf(
        "F(%dx%d, %dx%d) n=%lld %lldx%lld %lld->%lld: relative error y %.2e dx %.2e dw %.2e\n",
        tile, tile, v.kernel, v.kernel, static_cast<long long>(c.n), static_cast<long long>(c.h),
        static_cast<long long>(c.w), static_cast<long long>(c.cin), static_cast<long long>(c.cout),
        fwd, bwd_x, bwd_w);
    EXPECT_LT(fwd, ErrorBound(v));
    EXPECT_LT(bwd_x, ErrorBound(v));
    EXPECT_LT(bwd_w, ErrorBound(v));

    // Without dx, dw is the same.
    Tensor dw_only(w.shape());
    wino.Backward(x.data(), dy.data(), c.n, nullptr, dw_only.data());
    for (int64_t i = 0; i < dw.size(); ++i) ASSERT_EQ(dw_only[i], dw[i]) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, WinogradTest,
    ::testing::Values(WinogradCase{2, 6, 6, 4, 5},      // even size: whole tiles
                      WinogradCase{2, 7, 5, 3, 2},      // odd sizes: clipped last tiles
                      WinogradCase{3, 1, 1, 2, 3},      // one pixel
                      WinogradCase{1, 2, 9, 5, 1},      // one output channel
                      WinogradCase{3, 40, 40, 64, 64},  // several chunks of one image
                      WinogradCase{9, 7, 7, 64, 32},    // ResNet's last stage size
                      WinogradCase{2, 5, 6, 8, 8},      // F(4x4): clipped last tiles
                      WinogradCase{3, 2, 2, 16, 16},    // smaller than one F(4x4) tile
                      WinogradCase{2, 14, 14, 32, 64},  // mnist_deep's conv2
                      // Channels past a block of 64 and not a multiple of 16: the
                      // edge tiles' blocks and the transforms' lanes left over.
                      WinogradCase{2, 9, 10, 100, 83}));

// The tile with fewer transformed points: F(4x4) from 3x3 up, F(2x2) below.
TEST(WinogradTest, BestTileByPoints) {
  EXPECT_EQ(WinogradConv::BestTile(56, 56), 4);  // 196 tiles x 36 < 784 x 16
  EXPECT_EQ(WinogradConv::BestTile(4, 4), 4);    // 1 x 36 < 4 x 16
  EXPECT_EQ(WinogradConv::BestTile(3, 3), 4);    // 1 x 36 < 4 x 16
  EXPECT_EQ(WinogradConv::BestTile(2, 2), 2);    // 1 x 16 < 1 x 36
  EXPECT_EQ(WinogradConv::BestTile(1, 9), 2);    // 5 x 16 < 3 x 36
  EXPECT_EQ(WinogradConv(7, 7, 4, 4).tile(), 4);
  EXPECT_EQ(WinogradConv(2, 2, 4, 4).tile(), 2);
  EXPECT_EQ(WinogradConv(56, 56, 4, 4, 2).tile(), 2);
}

// Cut over two layer threads (each part's products on single-threaded
// OpenBLAS), y, dx and dw are those of one thread within the tile's error
// bound (OpenBLAS blocks fewer rows differently; dw adds the parts' sums);
// OpenBLAS's thread count is back afterwards.
// Both ways of sharing a batch: by points (small images) and by images.
struct ThreadsCase {
  int64_t n, h, w;
  bool by_points;
  int64_t cin = 16, cout = 24;
  bool f4x4_3x3_only = false;  // else every variant
};

class WinogradThreadsTest : public ::testing::TestWithParam<ThreadsCase> {};

TEST_P(WinogradThreadsTest, SameOnOneAndTwoThreads) {
  const ThreadsCase c = GetParam();
  const int saved = BlasThreads();
  const int64_t n = c.n, h = c.h, w = c.w, cin = c.cin, cout = c.cout;
  const Tensor x = RandomTensor({n, h, w, cin}, 31);
  const Tensor dy = RandomTensor({n, h, w, cout}, 33);
  for (const Variant& v : kVariants) {
    if (c.f4x4_3x3_only && (v.tile != 4 || v.kernel != 3)) continue;
    SCOPED_TRACE(v.tile * 10 + v.kernel);
    const int tile = v.tile;
    const Tensor wt = RandomTensor({v.kernel, v.kernel, cin, cout}, 32);
    // Relative to the tensor's largest value, as MatchesDirectConvolution.
    const auto expect_near = [v](const Tensor& a, const Tensor& b, const char* what) {
      const std::vector<double> want(a.data(), a.data() + a.size());
      EXPECT_LT(RelativeError(b.data(), want), ErrorBound(v)) << what;
    };
    Tensor y[2] = {Tensor({n, h, w, cout}), Tensor({n, h, w, cout})};
    Tensor dx[2] = {Tensor(x.shape()), Tensor(x.shape())};
    Tensor dw[2] = {Tensor(wt.shape()), Tensor(wt.shape())};
    for (int threads : {1, 2}) {
      SetBlasThreads(threads);
      ASSERT_EQ(LayerParts(n, 1), threads);
      WinogradConv wino(h, w, cin, cout, tile, v.kernel);
      if (threads == 2) {
        EXPECT_EQ(wino.SplitByPoints(n, 2), c.by_points);
      }
      wino.Forward(x.data(), wt.data(), n, y[threads - 1].data());
      dx[threads - 1].Fill(std::nanf(""));
      wino.Backward(x.data(), dy.data(), n, dx[threads - 1].data(), dw[threads - 1].data());
      EXPECT_EQ(BlasThreads(), threads);
    }
    SetBlasThreads(saved);
    expect_near(y[0], y[1], "y");
    expect_near(dx[0], dx[1], "dx");
    expect_near(dw[0], dw[1], "dw");
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, WinogradThreadsTest,
                         ::testing::Values(ThreadsCase{5, 9, 8, true},      // 15 tiles a part
                                           ThreadsCase{4, 32, 30, false},  // >= 128 a part
                                           // More weights than tile values, the batch
                                           // in two chunks (as ResNet-18's 7x7x512
                                           // layers at 224x224 input).
                                           ThreadsCase{24, 7, 7, true, 256, 256, true}));

// By points also when a layer's weights outnumber its batch's tile values,
// though the batch spans several chunks.
TEST(WinogradTest, ManyWeightsFewTilesSplitByPoints) {
  WinogradConv last_stage(7, 7, 512, 512);  // ResNet-18 at 224x224, batch 32
  EXPECT_LT(last_stage.ChunkImages(32), 32);
  EXPECT_TRUE(last_stage.SplitByPoints(32, 2));
  EXPECT_FALSE(last_stage.SplitByPoints(32, 1));
  EXPECT_FALSE(WinogradConv(14, 14, 256, 256).SplitByPoints(32, 2));  // stage 4
  EXPECT_FALSE(WinogradConv(56, 56, 64, 64).SplitByPoints(32, 2));    // stage 2
}

TEST(WinogradTest, ChunksBoundTheScratch) {
  WinogradConv big(56, 56, 64, 64);  // ResNet-18 stage 2 at 224x224
  EXPECT_EQ(big.ChunkImages(32), 1);
  WinogradConv small(4, 4, 256, 256);
  EXPECT_GT(small.ChunkImages(64), 1);
  EXPECT_LE(small.ChunkImages(64), 64);
  EXPECT_EQ(small.ChunkImages(0), 1);
}

// The layer picks its algorithm from its shape.
TEST(ConvAlgorithmTest, AutoPicksByShape) {
  auto make = [](int64_t cin, int64_t k, int64_t stride, Padding padding, int64_t cout,
                 ConvAlgorithm asked) {
    return Conv2DLayer("c", {8, 8, cin}, cout, k, stride, padding, ZerosInitializer(),
                       ZerosInitializer(), false, asked)
        .algorithm();
  };
  const ConvAlgorithm kAuto = ConvAlgorithm::kAuto;
  EXPECT_EQ(make(16, 3, 1, SAME, 16, kAuto), ConvAlgorithm::kWinograd);
  EXPECT_EQ(make(8, 3, 1, SAME, 16, kAuto), ConvAlgorithm::kIm2Col);  // too few channels
  EXPECT_EQ(make(16, 3, 2, SAME, 16, kAuto), ConvAlgorithm::kIm2Col);
  EXPECT_EQ(make(16, 3, 1, VALID, 16, kAuto), ConvAlgorithm::kIm2Col);
  EXPECT_EQ(make(16, 5, 1, SAME, 16, kAuto), ConvAlgorithm::kWinograd);  // F(4x4, 5x5)
  EXPECT_EQ(make(16, 5, 2, SAME, 16, kAuto), ConvAlgorithm::kIm2Col);
  EXPECT_EQ(make(16, 7, 1, SAME, 16, kAuto), ConvAlgorithm::kIm2Col);
  EXPECT_EQ(make(4, 1, 1, SAME, 4, kAuto), ConvAlgorithm::kGemm1x1);
  EXPECT_EQ(make(4, 1, 1, VALID, 4, kAuto), ConvAlgorithm::kGemm1x1);
  EXPECT_EQ(make(4, 1, 2, SAME, 4, kAuto), ConvAlgorithm::kIm2Col);
  EXPECT_EQ(make(2, 3, 1, SAME, 2, ConvAlgorithm::kWinograd), ConvAlgorithm::kWinograd);
  EXPECT_EQ(make(2, 3, 2, SAME, 2, ConvAlgorithm::kWinograd), ConvAlgorithm::kIm2Col);
  EXPECT_EQ(make(2, 3, 1, SAME, 2, ConvAlgorithm::kGemm1x1), ConvAlgorithm::kIm2Col);
  EXPECT_EQ(make(16, 3, 1, SAME, 16, ConvAlgorithm::kIm2Col), ConvAlgorithm::kIm2Col);
}

// Through the layer, with a bias, against the direct sum and finite
// differences.
TEST(ConvAlgorithmTest, WinogradLayerMatchesReferenceAndFiniteDifferences) {
  const int64_t h = 5, cin = 3, cout = 4;
  Conv2DLayer layer("conv", {h, h, cin}, cout, 3, 1, SAME, ZerosInitializer(), ZerosInitializer(),
                    true, ConvAlgorithm::kWinograd);
  ASSERT_EQ(layer.algorithm(), ConvAlgorithm::kWinograd);
  const Tensor x = RandomTensor({2, h, h, cin}, 31);
  const Tensor w = RandomTensor({3, 3, cin, cout}, 32);
  const Tensor b = RandomTensor({cout}, 33);
  const Tensor* params[] = {&w, &b};
  Tensor y;
  layer.Forward(params, x, {}, &y);
  int64_t oh = 0, ow = 0;
  const std::vector<double> want = NaiveConv(x, w, b, 1, true, &oh, &ow);
  ASSERT_EQ(y.shape(), Shape({2, h, h, cout}));
  for (int64_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-5) << i;
  EXPECT_EQ(
      CheckLayerGradients(&layer, {RandomTensor({3, 3, cin, cout}, 34), RandomTensor({cout}, 35)},
                          RandomTensor({2, h, h, cin}, 36)),
      0);
}

// The 1x1 stride 1 path (one sgemm, no im2col) against im2col, with a bias.
TEST(ConvAlgorithmTest, Gemm1x1MatchesIm2Col) {
  const int64_t n = 3, h = 5, cin = 6, cout = 7;
  Conv2DLayer direct("a", {h, h, cin}, cout, 1, 1, SAME, ZerosInitializer(), ZerosInitializer(),
                     true, ConvAlgorithm::kGemm1x1);
  Conv2DLayer im2col("b", {h, h, cin}, cout, 1, 1, SAME, ZerosInitializer(), ZerosInitializer(),
                     true, ConvAlgorithm::kIm2Col);
  ASSERT_EQ(direct.algorithm(), ConvAlgorithm::kGemm1x1);
  ASSERT_EQ(im2col.algorithm(), ConvAlgorithm::kIm2Col);
  const Tensor x = RandomTensor({n, h, h, cin}, 41);
  const Tensor w = RandomTensor({1, 1, cin, cout}, 42);
  const Tensor b = RandomTensor({cout}, 43);
  const Tensor* params[] = {&w, &b};
  Tensor y1, y2;
  direct.Forward(params, x, {}, &y1);
  im2col.Forward(params, x, {}, &y2);
  ASSERT_EQ(y1.shape(), y2.shape());
  for (int64_t i = 0; i < y1.size(); ++i) ASSERT_NEAR(y1[i], y2[i], 1e-5) << i;
  const Tensor dy = RandomTensor(y1.shape(), 44);
  Tensor dx1, dx2, dw1(w.shape()), dw2(w.shape()), db1(b.shape()), db2(b.shape());
  Tensor* g1[] = {&dw1, &db1};
  Tensor* g2[] = {&dw2, &db2};
  direct.Backward(params, x, y1, dy, &dx1, g1);
  im2col.Backward(params, x, y2, dy, &dx2, g2);
  for (int64_t i = 0; i < dx1.size(); ++i) ASSERT_NEAR(dx1[i], dx2[i], 1e-5) << i;
  for (int64_t i = 0; i < dw1.size(); ++i) ASSERT_NEAR(dw1[i], dw2[i], 1e-4) << i;
  for (int64_t i = 0; i < db1.size(); ++i) ASSERT_NEAR(db1[i], db2[i], 1e-4) << i;
}

}  // namespace
}  // namespace tessera
