#include "nn/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"
#include "nn/activations.h"
#include "nn/gradient_check.h"
#include "nn/random.h"

namespace tessera {
namespace {

// Distinct values 0.05 apart in random order, so no window has near-ties and a
// finite-difference step of 0.01 never changes which input is the maximum.
Tensor DistinctTensor(const Shape& shape, uint64_t seed) {
  Tensor t(shape);
  std::vector<int64_t> order(t.size());
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  for (int64_t i = t.size() - 1; i > 0; --i) {
    std::swap(order[i], order[rng.Next() % static_cast<uint64_t>(i + 1)]);
  }
  for (int64_t i = 0; i < t.size(); ++i) t[i] = 0.05f * static_cast<float>(order[i]) - 2.0f;
  return t;
}

// Pooling straight from the definition; SAME padding as TensorFlow.
std::vector<double> NaivePool(const Tensor& x, PoolKind kind, int64_t k, int64_t s,
                              bool same, int64_t* oh, int64_t* ow) {
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  int64_t py = 0, px = 0;
  if (same) {
    *oh = (h + s - 1) / s;
    *ow = (w + s - 1) / s;
    py = std::max<int64_t>((*oh - 1) * s + k - h, 0) / 2;
    px = std::max<int64_t>((*ow - 1) * s + k - w, 0) / 2;
  } else {
    *oh = (h - k) / s + 1;
    *ow = (w - k) / s + 1;
  }
  std::vector<double> y;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < *oh; ++oy)
      for (int64_t ox = 0; ox < *ow; ++ox)
        for (int64_t ch = 0; ch < c; ++ch) {
          double best = -1e30, sum = 0;
          int count = 0;
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t iy = oy * s - py + ky, ix = ox * s - px + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const double v = x[((b * h + iy) * w + ix) * c + ch];
              best = std::max(best, v);
              sum += v;
              ++count;
            }
          y.push_back(kind == PoolKind::kMax ? best : sum / count);
        }
  return y;
}

struct PoolCase {
  PoolKind kind;
  int64_t h, w, c, size, stride;
  Padding padding;
};

class PoolTest : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolTest, ForwardMatchesNaiveReference) {
  const PoolCase p = GetParam();
  PoolLayer layer("pool", p.kind, {p.h, p.w, p.c}, p.size, p.stride, p.padding);
  const Tensor x = DistinctTensor({2, p.h, p.w, p.c}, 1);
  Tensor y;
  layer.Forward({}, x, {}, &y);
  int64_t oh = 0, ow = 0;
  const std::vector<double> want =
      NaivePool(x, p.kind, p.size, p.stride, p.padding == SAME, &oh, &ow);
  ASSERT_EQ(y.shape(), Shape({2, oh, ow, p.c}));
  for (int64_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], 1e-5) << i;
}

TEST_P(PoolTest, GradientsMatchFiniteDifferences) {
  const PoolCase p = GetParam();
  PoolLayer layer("pool", p.kind, {p.h, p.w, p.c}, p.size, p.stride, p.padding);
  EXPECT_EQ(CheckLayerGradients(&layer, {}, DistinctTensor({2, p.h, p.w, p.c}, 2)), 0);
}

// Backward overwrites every element of grad_input, whatever it held: the
// tiling fast path (no zeroing pass) and windows that leave cells uncovered.
TEST_P(PoolTest, BackwardOverwritesAStaleGradInput) {
  const PoolCase p = GetParam();
  PoolLayer layer("pool", p.kind, {p.h, p.w, p.c}, p.size, p.stride, p.padding);
  const Tensor x = DistinctTensor({3, p.h, p.w, p.c}, 5);
  Tensor y;
  layer.Forward({}, x, ForwardOptions(), &y);
  const Tensor dy = DistinctTensor(y.shape(), 6);
  Tensor clean(x.shape());
  layer.Backward({}, x, y, dy, &clean, {});
  Tensor stale(x.shape());
  for (int64_t i = 0; i < stale.size(); ++i) stale[i] = 1e6f + static_cast<float>(i);
  layer.Backward({}, x, y, dy, &stale, {});
  for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(stale[i], clean[i]) << i;
}

// The max's backward from the cells its forward recorded routes every
// gradient exactly as a scan of the windows does (the path taken when the
// output is not the one the forward wrote): ties, as ReLU's zeros make, go to
// the first cell holding the maximum, a NaN maximum passes nothing.
TEST_P(PoolTest, MaxBackwardFromRecordedCellsEqualsTheScan) {
  const PoolCase p = GetParam();
  if (p.kind != PoolKind::kMax) GTEST_SKIP() << "max pooling only";
  PoolLayer layer("pool", p.kind, {p.h, p.w, p.c}, p.size, p.stride, p.padding);
  Tensor x = DistinctTensor({3, p.h, p.w, p.c}, 7);
  Rng rng(8);
  for (int64_t i = 0; i < x.size(); ++i) {
    const uint64_t r = rng.Next() % 8;
    if (r < 4) x[i] = 0.0f;                 // ties at zero
    if (r == 4) x[i] = std::round(x[i]);    // ties elsewhere
    if (r == 5 && i % 11 == 0) x[i] = NAN;  // a few NaN cells
  }
  Tensor y;
  layer.Forward({}, x, ForwardOptions(), &y);
  const Tensor dy = DistinctTensor(y.shape(), 9);
  Tensor from_cells(x.shape()), by_scan(x.shape());
  layer.Backward({}, x, y, dy, &from_cells, {});
  const Tensor y_copy = y;  // another output: the layer scans
  layer.Backward({}, x, y_copy, dy, &by_scan, {});
  for (int64_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(std::memcmp(&from_cells[i], &by_scan[i], sizeof(float)), 0)
        << i << ": " << from_cells[i] << " against " << by_scan[i];
  }
}

// A relu fused before a max pool (PoolLayer::FuseReluBefore) gives the
// floats of a relu layer and then the pool, bit for bit: output and input
// gradient, from the recorded cells and by the scan, with ties at zero,
// negative windows and NaN cells (which the relu makes 0). Average pooling
// refuses the relu.
TEST_P(PoolTest, FusedReluBeforeEqualsReluThenPool) {
  const PoolCase p = GetParam();
  PoolLayer fused("pool", p.kind, {p.h, p.w, p.c}, p.size, p.stride, p.padding);
  if (p.kind != PoolKind::kMax) {
    EXPECT_FALSE(fused.FuseReluBefore());
    return;
  }
  ASSERT_TRUE(fused.FuseReluBefore());
  PoolLayer pool("pool", p.kind, {p.h, p.w, p.c}, p.size, p.stride, p.padding);
  ReluLayer relu("relu", {p.h, p.w, p.c});
  Tensor x = DistinctTensor({3, p.h, p.w, p.c}, 17);
  Rng rng(18);
  for (int64_t i = 0; i < x.size(); ++i) {
    const uint64_t r = rng.Next() % 8;
    if (r < 2) x[i] = 0.0f;                // ties at zero
    if (r == 2) x[i] = -std::fabs(x[i]);   // more windows of negatives only
    if (r == 3) x[i] = std::round(x[i]);   // ties elsewhere
    if (r == 4 && i % 7 == 0) x[i] = NAN;  // a few NaN cells
  }
  Tensor r, want_y, got_y;
  relu.Forward({}, x, ForwardOptions(), &r);
  pool.Forward({}, r, ForwardOptions(), &want_y);
  fused.Forward({}, x, ForwardOptions(), &got_y);
  ASSERT_EQ(want_y.shape(), got_y.shape());
  for (int64_t i = 0; i < want_y.size(); ++i) {
    ASSERT_EQ(std::memcmp(&want_y[i], &got_y[i], sizeof(float)), 0) << i;
  }
  Tensor dy = DistinctTensor(want_y.shape(), 19);
  dy[0] = -0.0f;
  // Each way of the backward against the same way unfused (they differ in
  // the sign of a zero gradient where overlapping windows add).
  Tensor dr, want_from_cells, want_by_scan;
  pool.Backward({}, r, want_y, dy, &dr, {});
  relu.Backward({}, x, r, dr, &want_from_cells, {});
  const Tensor want_y_copy = want_y;  // another output: the layer scans
  pool.Backward({}, r, want_y_copy, dy, &dr, {});
  relu.Backward({}, x, r, dr, &want_by_scan, {});
  Tensor from_cells(x.shape()), by_scan(x.shape());
  fused.Backward({}, x, got_y, dy, &from_cells, {});
  const Tensor y_copy = got_y;
  fused.Backward({}, x, y_copy, dy, &by_scan, {});
  for (int64_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(std::memcmp(&want_from_cells[i], &from_cells[i], sizeof(float)), 0)
        << i << ": " << want_from_cells[i] << " against " << from_cells[i];
    ASSERT_EQ(std::memcmp(&want_by_scan[i], &by_scan[i], sizeof(float)), 0)
        << i << ": " << want_by_scan[i] << " against " << by_scan[i];
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PoolTest,
    ::testing::Values(PoolCase{PoolKind::kMax, 4, 4, 3, 2, 2, SAME},
                      PoolCase{PoolKind::kMax, 5, 7, 2, 2, 2, SAME},  // padded edge
                      PoolCase{PoolKind::kMax, 5, 5, 2, 3, 1, SAME},
                      PoolCase{PoolKind::kMax, 5, 5, 2, 3, 2, VALID},
                      PoolCase{PoolKind::kMax, 5, 5, 4, 2, 2, VALID},  // last row, column uncovered
                      PoolCase{PoolKind::kMax, 6, 8, 16, 2, 2, VALID},    // tiles
                      PoolCase{PoolKind::kMax, 8, 8, 16, 3, 2, SAME},     // ResNet's stem pool
                      PoolCase{PoolKind::kMax, 5, 5, 3, 4, 5, VALID},     // cells in no window
                      PoolCase{PoolKind::kMax, 17, 17, 2, 16, 1, VALID},  // too big to record
                      PoolCase{PoolKind::kAverage, 4, 4, 3, 2, 2, SAME},
                      PoolCase{PoolKind::kAverage, 5, 7, 2, 2, 2, SAME},  // partial windows
                      PoolCase{PoolKind::kAverage, 5, 5, 2, 3, 1, SAME},
                      PoolCase{PoolKind::kAverage, 5, 5, 2, 3, 2, VALID}));

}  // namespace
}  // namespace tessera
