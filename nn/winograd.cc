#include "nn/winograd.h"

#include <algorithm>

#include "common/simd_clones.h"
#include "nn/gemm.h"
#include "nn/layer_threads.h"

namespace tessera {
namespace {

// The 1-D transforms, each over `n` channels (or channel pairs) at once, so
// that the loops vectorize. F(2x2, 3x3): B^T (4 -> 4), A^T (4 -> 2), A (2 -> 4),
// G (3 -> 4), G^T (4 -> 3), with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
TESSERA_SIMD_CLONES void TransformBT4(const float* __restrict a0, const float* __restrict a1,
                                      const float* __restrict a2, const float* __restrict a3,
                                      float* __restrict o0, float* __restrict o1,
                                      float* __restrict o2, float* __restrict o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i] - a2[i];
    o1[i] = a1[i] + a2[i];
    o2[i] = a2[i] - a1[i];
    o3[i] = a1[i] - a3[i];
  }
}

TESSERA_SIMD_CLONES void TransformAT4(const float* __restrict a0, const float* __restrict a1,
                                      const float* __restrict a2, const float* __restrict a3,
                                      float* __restrict o0, float* __restrict o1, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i] + a1[i] + a2[i];
    o1[i] = a1[i] - a2[i] - a3[i];
  }
}

TESSERA_SIMD_CLONES void TransformA4(const float* __restrict a0, const float* __restrict a1,
                                     float* __restrict o0, float* __restrict o1,
                                     float* __restrict o2, float* __restrict o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i];
    o1[i] = a0[i] + a1[i];
    o2[i] = a0[i] - a1[i];
    o3[i] = -a1[i];
  }
}

TESSERA_SIMD_CLONES void TransformG4(const float* __restrict a0, const float* __restrict a1,
                                     const float* __restrict a2, float* __restrict o0,
                                     float* __restrict o1, float* __restrict o2,
                                     float* __restrict o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i];
    o1[i] = 0.5f * (a0[i] + a1[i] + a2[i]);
    o2[i] = 0.5f * (a0[i] - a1[i] + a2[i]);
    o3[i] = a2[i];
  }
}

TESSERA_SIMD_CLONES void TransformGT4(const float* __restrict a0, const float* __restrict a1,
                                      const float* __restrict a2, const float* __restrict a3,
                                      float* __restrict o0, float* __restrict o1,
                                      float* __restrict o2, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i] + 0.5f * (a1[i] + a2[i]);
    o1[i] = 0.5f * (a1[i] - a2[i]);
    o2[i] = 0.5f * (a1[i] + a2[i]) + a3[i];
  }
}

// F(4x4, 3x3), interpolation points 0, 1, -1, 2, -2 and infinity:
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//          0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
//          1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1].
TESSERA_SIMD_CLONES void TransformBT6(const float* __restrict a0, const float* __restrict a1,
                                      const float* __restrict a2, const float* __restrict a3,
                                      const float* __restrict a4, const float* __restrict a5,
                                      float* __restrict o0, float* __restrict o1,
                                      float* __restrict o2, float* __restrict o3,
                                      float* __restrict o4, float* __restrict o5, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float p = a4[i] - 4.0f * a2[i];  // shared by rows 1 and 2
    const float q = a3[i] - 4.0f * a1[i];
    const float r = a4[i] - a2[i];  // rows 3 and 4
    const float s = 2.0f * (a3[i] - a1[i]);
    o0[i] = 4.0f * a0[i] - 5.0f * a2[i] + a4[i];
    o1[i] = p + q;
    o2[i] = p - q;
    o3[i] = r + s;
    o4[i] = r - s;
    o5[i] = 4.0f * a1[i] - 5.0f * a3[i] + a5[i];
  }
}

TESSERA_SIMD_CLONES void TransformAT6(const float* __restrict a0, const float* __restrict a1,
                                      const float* __restrict a2, const float* __restrict a3,
                                      const float* __restrict a4, const float* __restrict a5,
                                      float* __restrict o0, float* __restrict o1,
                                      float* __restrict o2, float* __restrict o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float sum12 = a1[i] + a2[i], dif12 = a1[i] - a2[i];
    const float sum34 = a3[i] + a4[i], dif34 = a3[i] - a4[i];
    o0[i] = a0[i] + sum12 + sum34;
    o1[i] = dif12 + 2.0f * dif34;
    o2[i] = sum12 + 4.0f * sum34;
    o3[i] = dif12 + 8.0f * dif34 + a5[i];
  }
}

TESSERA_SIMD_CLONES void TransformA6(const float* __restrict a0, const float* __restrict a1,
                                     const float* __restrict a2, const float* __restrict a3,
                                     float* __restrict o0, float* __restrict o1,
                                     float* __restrict o2, float* __restrict o3,
                                     float* __restrict o4, float* __restrict o5, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float even1 = a0[i] + a2[i], odd1 = a1[i] + a3[i];
    const float even2 = a0[i] + 4.0f * a2[i], odd2 = 2.0f * a1[i] + 8.0f * a3[i];
    o0[i] = a0[i];
    o1[i] = even1 + odd1;
    o2[i] = even1 - odd1;
    o3[i] = even2 + odd2;
    o4[i] = even2 - odd2;
    o5[i] = a3[i];
  }
}

TESSERA_SIMD_CLONES void TransformG6(const float* __restrict a0, const float* __restrict a1,
                                     const float* __restrict a2, float* __restrict o0,
                                     float* __restrict o1, float* __restrict o2,
                                     float* __restrict o3, float* __restrict o4,
                                     float* __restrict o5, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float even = a0[i] + a2[i];
    const float quarter = a0[i] * (1.0f / 24.0f) + a2[i] * (1.0f / 6.0f);
    o0[i] = 0.25f * a0[i];
    o1[i] = -(1.0f / 6.0f) * (even + a1[i]);
    o2[i] = -(1.0f / 6.0f) * (even - a1[i]);
    o3[i] = quarter + a1[i] * (1.0f / 12.0f);
    o4[i] = quarter - a1[i] * (1.0f / 12.0f);
    o5[i] = a2[i];
  }
}

TESSERA_SIMD_CLONES void TransformGT6(const float* __restrict a0, const float* __restrict a1,
                                      const float* __restrict a2, const float* __restrict a3,
                                      const float* __restrict a4, const float* __restrict a5,
                                      float* __restrict o0, float* __restrict o1,
                                      float* __restrict o2, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float sum12 = a1[i] + a2[i], sum34 = a3[i] + a4[i];
    o0[i] = 0.25f * a0[i] - (1.0f / 6.0f) * sum12 + (1.0f / 24.0f) * sum34;
    o1[i] = (1.0f / 6.0f) * (a2[i] - a1[i]) + (1.0f / 12.0f) * (a3[i] - a4[i]);
    o2[i] = (1.0f / 6.0f) * (sum34 - sum12) + a5[i];
  }
}

// F(4x4, 5x5): B^T (8 -> 8), A^T (8 -> 4), A (4 -> 8), G (5 -> 8), G^T (8 -> 5),
// from the points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity (B^T is F(6x6, 3x3)'s):
//   B^T = [-1 0 21/4 0 -21/4 0 1 0; 0 1 1 -17/4 -17/4 1 1 0;
//          0 -1 1 17/4 -17/4 -1 1 0; 0 1/2 1/4 -5/2 -5/4 2 1 0;
//          0 -1/2 1/4 5/2 -5/4 -2 1 0; 0 2 4 -5/2 -5 1/2 1 0;
//          0 -2 4 5/2 -5 -1/2 1 0; 0 -1 0 21/4 0 -21/4 0 1]
//   A^T = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 1/2 -1/2 0;
//          0 1 1 4 4 1/4 1/4 0; 0 1 -1 8 -8 1/8 -1/8 1]
//   G   = [-1 0 0 0 0; -2/9 -2/9 -2/9 -2/9 -2/9; -2/9 2/9 -2/9 2/9 -2/9;
//          1/90 1/45 2/45 4/45 8/45; 1/90 -1/45 2/45 -4/45 8/45;
//          32/45 16/45 8/45 4/45 2/45; 32/45 -16/45 8/45 -4/45 2/45; 0 0 0 0 1].
TESSERA_SIMD_CLONES void TransformBT8(const float* __restrict a0, const float* __restrict a1,
                                      const float* __restrict a2, const float* __restrict a3,
                                      const float* __restrict a4, const float* __restrict a5,
                                      const float* __restrict a6, const float* __restrict a7,
                                      float* __restrict o0, float* __restrict o1,
                                      float* __restrict o2, float* __restrict o3,
                                      float* __restrict o4, float* __restrict o5,
                                      float* __restrict o6, float* __restrict o7, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float e1 = a2[i] + a6[i] - 4.25f * a4[i], d1 = a1[i] + a5[i] - 4.25f * a3[i];
    const float e2 = 0.25f * a2[i] - 1.25f * a4[i] + a6[i];
    const float d2 = 0.5f * a1[i] - 2.5f * a3[i] + 2.0f * a5[i];
    const float e3 = 4.0f * a2[i] - 5.0f * a4[i] + a6[i];
    const float d3 = 2.0f * a1[i] - 2.5f * a3[i] + 0.5f * a5[i];
    o0[i] = a6[i] - a0[i] + 5.25f * (a2[i] - a4[i]);
    o1[i] = e1 + d1;
    o2[i] = e1 - d1;
    o3[i] = e2 + d2;
    o4[i] = e2 - d2;
    o5[i] = e3 + d3;
    o6[i] = e3 - d3;
    o7[i] = a7[i] - a1[i] + 5.25f * (a3[i] - a5[i]);
  }
}

TESSERA_SIMD_CLONES void TransformAT8(const float* __restrict a0, const float* __restrict a1,
                                      const float* __restrict a2, const float* __restrict a3,
                                      const float* __restrict a4, const float* __restrict a5,
                                      const float* __restrict a6, const float* __restrict a7,
                                      float* __restrict o0, float* __restrict o1,
                                      float* __restrict o2, float* __restrict o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float s1 = a1[i] + a2[i], d1 = a1[i] - a2[i];
    const float s2 = a3[i] + a4[i], d2 = a3[i] - a4[i];
    const float s3 = a5[i] + a6[i], d3 = a5[i] - a6[i];
    o0[i] = a0[i] + s1 + s2 + s3;
    o1[i] = d1 + 2.0f * d2 + 0.5f * d3;
    o2[i] = s1 + 4.0f * s2 + 0.25f * s3;
    o3[i] = d1 + 8.0f * d2 + 0.125f * d3 + a7[i];
  }
}

TESSERA_SIMD_CLONES void TransformA8(const float* __restrict a0, const float* __restrict a1,
                                     const float* __restrict a2, const float* __restrict a3,
                                     float* __restrict o0, float* __restrict o1,
                                     float* __restrict o2, float* __restrict o3,
                                     float* __restrict o4, float* __restrict o5,
                                     float* __restrict o6, float* __restrict o7, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float e1 = a0[i] + a2[i], d1 = a1[i] + a3[i];
    const float e2 = a0[i] + 4.0f * a2[i], d2 = 2.0f * a1[i] + 8.0f * a3[i];
    const float e3 = a0[i] + 0.25f * a2[i], d3 = 0.5f * a1[i] + 0.125f * a3[i];
    o0[i] = a0[i];
    o1[i] = e1 + d1;
    o2[i] = e1 - d1;
    o3[i] = e2 + d2;
    o4[i] = e2 - d2;
    o5[i] = e3 + d3;
    o6[i] = e3 - d3;
    o7[i] = a3[i];
  }
}

TESSERA_SIMD_CLONES void TransformG8(const float* __restrict a0, const float* __restrict a1,
                                     const float* __restrict a2, const float* __restrict a3,
                                     const float* __restrict a4, float* __restrict o0,
                                     float* __restrict o1, float* __restrict o2,
                                     float* __restrict o3, float* __restrict o4,
                                     float* __restrict o5, float* __restrict o6,
                                     float* __restrict o7, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float e1 = a0[i] + a2[i] + a4[i], d1 = a1[i] + a3[i];
    const float e2 = a0[i] * (1.0f / 90.0f) + a2[i] * (2.0f / 45.0f) + a4[i] * (8.0f / 45.0f);
    const float d2 = a1[i] * (1.0f / 45.0f) + a3[i] * (4.0f / 45.0f);
    const float e3 = a0[i] * (32.0f / 45.0f) + a2[i] * (8.0f / 45.0f) + a4[i] * (2.0f / 45.0f);
    const float d3 = a1[i] * (16.0f / 45.0f) + a3[i] * (4.0f / 45.0f);
    o0[i] = -a0[i];
    o1[i] = -(2.0f / 9.0f) * (e1 + d1);
    o2[i] = -(2.0f / 9.0f) * (e1 - d1);
    o3[i] = e2 + d2;
    o4[i] = e2 - d2;
    o5[i] = e3 + d3;
    o6[i] = e3 - d3;
    o7[i] = a4[i];
  }
}

TESSERA_SIMD_CLONES void TransformGT8(const float* __restrict a0, const float* __restrict a1,
                                      const float* __restrict a2, const float* __restrict a3,
                                      const float* __restrict a4, const float* __restrict a5,
                                      const float* __restrict a6, const float* __restrict a7,
                                      float* __restrict o0, float* __restrict o1,
                                      float* __restrict o2, float* __restrict o3,
                                      float* __restrict o4, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float s12 = a1[i] + a2[i], d12 = a1[i] - a2[i];
    const float s34 = a3[i] + a4[i], d34 = a3[i] - a4[i];
    const float s56 = a5[i] + a6[i], d56 = a5[i] - a6[i];
    o0[i] = -a0[i] - (2.0f / 9.0f) * s12 + (1.0f / 90.0f) * s34 + (32.0f / 45.0f) * s56;
    o1[i] = -(2.0f / 9.0f) * d12 + (1.0f / 45.0f) * d34 + (16.0f / 45.0f) * d56;
    o2[i] = -(2.0f / 9.0f) * s12 + (2.0f / 45.0f) * s34 + (8.0f / 45.0f) * s56;
    o3[i] = -(2.0f / 9.0f) * d12 + (4.0f / 45.0f) * d34 + (4.0f / 45.0f) * d56;
    o4[i] = -(2.0f / 9.0f) * s12 + (8.0f / 45.0f) * s34 + (2.0f / 45.0f) * s56 + a7[i];
  }
}

// The transforms of F(M x M, R x R) on arrays of row pointers: kAlpha = M + R - 1
// points per dimension.
template <int M, int R>
struct Transforms;

template <>
struct Transforms<2, 3> {
  static constexpr int kM = 2, kR = 3, kAlpha = 4;
  static void BT(const float* const* a, float* const* o, int64_t n) {
    TransformBT4(a[0], a[1], a[2], a[3], o[0], o[1], o[2], o[3], n);
  }
  static void AT(const float* const* a, float* const* o, int64_t n) {
    TransformAT4(a[0], a[1], a[2], a[3], o[0], o[1], n);
  }
  static void A(const float* const* a, float* const* o, int64_t n) {
    TransformA4(a[0], a[1], o[0], o[1], o[2], o[3], n);
  }
  static void G(const float* const* a, float* const* o, int64_t n) {
    TransformG4(a[0], a[1], a[2], o[0], o[1], o[2], o[3], n);
  }
  static void GT(const float* const* a, float* const* o, int64_t n) {
    TransformGT4(a[0], a[1], a[2], a[3], o[0], o[1], o[2], n);
  }
};

template <>
struct Transforms<4, 3> {
  static constexpr int kM = 4, kR = 3, kAlpha = 6;
  static void BT(const float* const* a, float* const* o, int64_t n) {
    TransformBT6(a[0], a[1], a[2], a[3], a[4], a[5], o[0], o[1], o[2], o[3], o[4], o[5], n);
  }
  static void AT(const float* const* a, float* const* o, int64_t n) {
    TransformAT6(a[0], a[1], a[2], a[3], a[4], a[5], o[0], o[1], o[2], o[3], n);
  }
  static void A(const float* const* a, float* const* o, int64_t n) {
    TransformA6(a[0], a[1], a[2], a[3], o[0], o[1], o[2], o[3], o[4], o[5], n);
  }
  static void G(const float* const* a, float* const* o, int64_t n) {
    TransformG6(a[0], a[1], a[2], o[0], o[1], o[2], o[3], o[4], o[5], n);
  }
  static void GT(const float* const* a, float* const* o, int64_t n) {
    TransformGT6(a[0], a[1], a[2], a[3], a[4], a[5], o[0], o[1], o[2], n);
  }
};

template <>
struct Transforms<4, 5> {
  static constexpr int kM = 4, kR = 5, kAlpha = 8;
  static void BT(const float* const* a, float* const* o, int64_t n) {
    TransformBT8(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], o[0], o[1], o[2], o[3], o[4], o[5],
                 o[6], o[7], n);
  }
  static void AT(const float* const* a, float* const* o, int64_t n) {
    TransformAT8(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], o[0], o[1], o[2], o[3], n);
  }
  static void A(const float* const* a, float* const* o, int64_t n) {
    TransformA8(a[0], a[1], a[2], a[3], o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], n);
  }
  static void G(const float* const* a, float* const* o, int64_t n) {
    TransformG8(a[0], a[1], a[2], a[3], a[4], o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], n);
  }
  static void GT(const float* const* a, float* const* o, int64_t n) {
    TransformGT8(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], o[0], o[1], o[2], o[3], o[4], n);
  }
};

// F(2x2, 3x3): point (i, j) of a kernel turned 180 degrees is point
// (P(i), P(j)) of the kernel's transform, P swapping 0 and 3 (G's rows with
// their columns reversed are its rows 3, 1, 2, 0), so Backward reads Forward's
// transform there instead of making a second one.
constexpr int kTurned2[16] = {15, 13, 14, 12, 7, 5, 6, 4, 11, 9, 10, 8, 3, 1, 2, 0};

// Channels per block of a transform: its intermediate rows stay in L1.
constexpr int64_t kBlock = 64;

int64_t TilePoints(int m, int r) { return int64_t{m + r - 1} * (m + r - 1); }

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

int WinogradConv::BestTile(int64_t h, int64_t w) {
  const auto points = [&](int m) { return CeilDiv(h, m) * CeilDiv(w, m) * TilePoints(m, 3); };
  return points(4) <= points(2) ? 4 : 2;
}

WinogradConv::WinogradConv(int64_t h, int64_t w, int64_t cin, int64_t cout, int tile, int kernel)
    : h_(h),
      w_(w),
      cin_(cin),
      cout_(cout),
      r_(kernel == 5 ? 5 : 3),
      m_(r_ == 5                  ? 4
         : tile == 2 || tile == 4 ? tile
                                  : BestTile(h, w)),
      points_(TilePoints(m_, r_)),
      tiles_y_(CeilDiv(h, m_)),
      tiles_x_(CeilDiv(w, m_)),
      zeros_(static_cast<size_t>(std::max(cin, cout)), 0.0f) {}

template <typename Fn>
void WinogradConv::WithTransforms(Fn fn) const {
  if (r_ == 5) {
    fn(Transforms<4, 5>{});
  } else if (m_ == 4) {
    fn(Transforms<4, 3>{});
  } else {
    fn(Transforms<2, 3>{});
  }
}

int64_t WinogradConv::ChunkImages(int64_t n) const {
  const int64_t bytes = tiles_y_ * tiles_x_ * points_ * (cin_ + cout_) * int64_t{sizeof(float)};
  const int64_t target = cin_ < kShallowChannels ? kShallowChunkBytes : kChunkBytes;
  return std::clamp<int64_t>(target / std::max<int64_t>(bytes, 1), 1, std::max<int64_t>(n, 1));
}

template <typename T>
void WinogradConv::TransformWeights(const float* weights, bool turned, std::vector<float>* u_out) {
  constexpr int R = T::kR, kA = T::kAlpha;
  // U = G g G^T over the (ci, co) pairs laid end to end; turned, kernel point
  // (ky, kx) is read at (R - 1 - ky, R - 1 - kx).
  const int64_t pairs = cin_ * cout_;
  u_out->resize(static_cast<size_t>(points_ * pairs));
  float* u = u_out->data();
  const auto at = [&](int ky, int kx) {
    return weights + ((turned ? R - 1 - ky : ky) * R + (turned ? R - 1 - kx : kx)) * pairs;
  };
  LayerParallelFor(pairs, 1, [&](int64_t begin, int64_t end) {
    float q[kA][R][kBlock];
    for (int64_t e = begin; e < end; e += kBlock) {
      const int64_t n = std::min(kBlock, end - e);
      for (int kx = 0; kx < R; ++kx) {
        const float* in[R];
        for (int ky = 0; ky < R; ++ky) in[ky] = at(ky, kx) + e;
        float* out[kA];
        for (int i = 0; i < kA; ++i) out[i] = q[i][kx];
        T::G(in, out, n);
      }
      for (int i = 0; i < kA; ++i) {
        const float* in[R];
        for (int kx = 0; kx < R; ++kx) in[kx] = q[i][kx];
        float* out[kA];
        for (int j = 0; j < kA; ++j) out[j] = u + (i * kA + j) * pairs + e;
        T::G(in, out, n);
      }
    }
  });
}

template <typename T>
void WinogradConv::InputTransform(const float* in, int64_t n, int64_t c, float* v) {
  constexpr int M = T::kM, R = T::kR, kA = T::kAlpha;
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  LayerParallelFor(tiles, 1, [&](int64_t begin, int64_t end) {
    const float* d[kA][kA];
    float r[kA][kA][kBlock];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t ty = (t % tiles_per_image) / tiles_x_;
      const int64_t tx = t % tiles_x_;
      for (int i = 0; i < kA; ++i) {
        const int64_t y = M * ty - (R - 1) / 2 + i;
        for (int j = 0; j < kA; ++j) {
          const int64_t x = M * tx - (R - 1) / 2 + j;
          d[i][j] = (y < 0 || y >= h_ || x < 0 || x >= w_) ? zeros_.data()
                                                           : in + ((b * h_ + y) * w_ + x) * c;
        }
      }
      for (int64_t c0 = 0; c0 < c; c0 += kBlock) {
        const int64_t cb = std::min(kBlock, c - c0);
        const float* col[kA];
        float* out[kA];
        for (int j = 0; j < kA; ++j) {
          for (int i = 0; i < kA; ++i) {
            col[i] = d[i][j] + c0;
            out[i] = r[i][j];
          }
          T::BT(col, out, cb);
        }
        for (int i = 0; i < kA; ++i) {
          const float* row[kA];
          for (int j = 0; j < kA; ++j) {
            row[j] = r[i][j];
            out[j] = v + (i * kA + j) * plane + t * c + c0;
          }
          T::BT(row, out, cb);
        }
      }
    }
  });
}

template <typename T>
void WinogradConv::OutputTransform(const float* m, int64_t n, int64_t c, float* out) {
  constexpr int M = T::kM, kA = T::kAlpha;
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  LayerParallelFor(tiles, 1, [&](int64_t begin, int64_t end) {
    float s[M][kA][kBlock];
    float spill[kBlock];  // outputs beyond the image's edge
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t ty = (t % tiles_per_image) / tiles_x_;
      const int64_t tx = t % tiles_x_;
      float* y[M][M];
      for (int a = 0; a < M; ++a) {
        for (int e = 0; e < M; ++e) {
          const int64_t oy = M * ty + a, ox = M * tx + e;
          y[a][e] = oy < h_ && ox < w_ ? out + ((b * h_ + oy) * w_ + ox) * c : nullptr;
        }
      }
      const float* src = m + t * c;
      for (int64_t c0 = 0; c0 < c; c0 += kBlock) {
        const int64_t cb = std::min(kBlock, c - c0);
        const float* in[kA];
        float* o[kA];
        for (int j = 0; j < kA; ++j) {
          for (int i = 0; i < kA; ++i) in[i] = src + (i * kA + j) * plane + c0;
          for (int a = 0; a < M; ++a) o[a] = s[a][j];
          T::AT(in, o, cb);
        }
        for (int a = 0; a < M; ++a) {
          for (int j = 0; j < kA; ++j) in[j] = s[a][j];
          for (int e = 0; e < M; ++e) o[e] = y[a][e] != nullptr ? y[a][e] + c0 : spill;
          T::AT(in, o, cb);
        }
      }
    }
  });
}

template <typename T>
void WinogradConv::OutputAdjoint(const float* dy, int64_t n, int64_t c, float* dm) {
  constexpr int M = T::kM, kA = T::kAlpha;
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  LayerParallelFor(tiles, 1, [&](int64_t begin, int64_t end) {
    float r[kA][M][kBlock];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t ty = (t % tiles_per_image) / tiles_x_;
      const int64_t tx = t % tiles_x_;
      const float* g[M][M];
      for (int a = 0; a < M; ++a) {
        for (int e = 0; e < M; ++e) {
          const int64_t oy = M * ty + a, ox = M * tx + e;
          g[a][e] = oy < h_ && ox < w_ ? dy + ((b * h_ + oy) * w_ + ox) * c : zeros_.data();
        }
      }
      for (int64_t c0 = 0; c0 < c; c0 += kBlock) {
        const int64_t cb = std::min(kBlock, c - c0);
        const float* in[M];
        float* o[kA];
        for (int e = 0; e < M; ++e) {
          for (int a = 0; a < M; ++a) in[a] = g[a][e] + c0;
          for (int i = 0; i < kA; ++i) o[i] = r[i][e];
          T::A(in, o, cb);
        }
        for (int i = 0; i < kA; ++i) {
          for (int e = 0; e < M; ++e) in[e] = r[i][e];
          for (int j = 0; j < kA; ++j) o[j] = dm + (i * kA + j) * plane + t * c + c0;
          T::A(in, o, cb);
        }
      }
    }
  });
}

template <typename T>
void WinogradConv::WeightAdjoint(const float* du, float* dweights) {
  constexpr int R = T::kR, kA = T::kAlpha;
  const int64_t pairs = cin_ * cout_;
  LayerParallelFor(pairs, 1, [&](int64_t begin, int64_t end) {
    float p[R][kA][kBlock];
    for (int64_t e = begin; e < end; e += kBlock) {
      const int64_t cb = std::min(kBlock, end - e);
      const float* in[kA];
      float* o[R];
      for (int j = 0; j < kA; ++j) {
        for (int i = 0; i < kA; ++i) in[i] = du + (i * kA + j) * pairs + e;
        for (int ky = 0; ky < R; ++ky) o[ky] = p[ky][j];
        T::GT(in, o, cb);
      }
      for (int ky = 0; ky < R; ++ky) {
        for (int j = 0; j < kA; ++j) in[j] = p[ky][j];
        for (int kx = 0; kx < R; ++kx) o[kx] = dweights + (ky * R + kx) * pairs + e;
        T::GT(in, o, cb);
      }
    }
  });
}

int WinogradConv::ImageParts(int64_t n) { return LayerParts(n, 1); }

bool WinogradConv::SplitByPoints(int64_t n, int parts) const {
  if (parts < 2) return false;
  const int64_t tiles = n * tiles_y_ * tiles_x_;
  if (ChunkImages(n) >= n && tiles / parts < kMinTilesPerPart) return true;
  // More weights than activations to transform and multiply: by images, each
  // part would read every weight matrix once per chunk and write a whole dU
  // of its own (then added to the others'), with few rows per product.
  const int64_t batch_bytes = points_ * tiles * (cin_ + cout_) * int64_t{sizeof(float)};
  return cin_ * cout_ > tiles * (cin_ + cout_) && batch_bytes <= kMaxByPointsBytes;
}

void WinogradConv::Products(const float* v, int64_t tiles, int64_t c_in, int64_t c_out,
                            const float* u, const int* point_map, bool transposed, float* m,
                            int64_t k_begin, int64_t k_end) const {
  const int64_t pairs = cin_ * cout_;
  for (int64_t k = k_begin; k < k_end; ++k) {
    Sgemm(CblasNoTrans, transposed ? CblasTrans : CblasNoTrans, tiles, c_out, c_in, 1.0f,
          v + k * tiles * c_in, c_in, u + (point_map != nullptr ? point_map[k] : k) * pairs,
          transposed ? c_in : c_out, 0.0f, m + k * tiles * c_out, c_out);
  }
}

void WinogradConv::WeightProducts(const float* v, const float* dm, int64_t tiles, float beta,
                                  float* du, int64_t k_begin, int64_t k_end) const {
  const int64_t pairs = cin_ * cout_;
  for (int64_t k = k_begin; k < k_end; ++k) {
    Sgemm(CblasTrans, CblasNoTrans, cin_, cout_, tiles, 1.0f, v + k * tiles * cin_, cin_,
          dm + k * tiles * cout_, cout_, beta, du + k * pairs, cout_);
  }
}

template <typename T>
void WinogradConv::ConvolveByPoints(const float* in, int64_t n, int64_t c_in, int64_t c_out,
                                    const float* u, const int* point_map, bool transposed,
                                    int parts, float* out) {
  const int64_t tiles = n * tiles_y_ * tiles_x_;
  Scratch& s = scratch_[0];
  s.v.resize(static_cast<size_t>(points_ * tiles * c_in));
  s.m.resize(static_cast<size_t>(points_ * tiles * c_out));
  InputTransform<T>(in, n, c_in, s.v.data());
  RunLayerPartsOnSerialBlas(parts, points_, [&](int, int64_t begin, int64_t end) {
    Products(s.v.data(), tiles, c_in, c_out, u, point_map, transposed, s.m.data(), begin, end);
  });
  OutputTransform<T>(s.m.data(), n, c_out, out);
}

template <typename T>
void WinogradConv::WeightProductsByPoints(const float* x, const float* dy, int64_t n, int parts) {
  const int64_t tiles = n * tiles_y_ * tiles_x_;
  Scratch& s = scratch_[0];
  s.v.resize(static_cast<size_t>(points_ * tiles * cin_));
  s.dm.resize(static_cast<size_t>(points_ * tiles * cout_));
  s.du.resize(static_cast<size_t>(points_ * cin_ * cout_));
  InputTransform<T>(x, n, cin_, s.v.data());
  OutputAdjoint<T>(dy, n, cout_, s.dm.data());
  RunLayerPartsOnSerialBlas(parts, points_, [&](int, int64_t begin, int64_t end) {
    WeightProducts(s.v.data(), s.dm.data(), tiles, 0.0f, s.du.data(), begin, end);
  });
}

void WinogradConv::Convolve(const float* in, int64_t n, int64_t c_in, int64_t c_out, const float* u,
                            const int* point_map, bool transposed, float* out) {
  const int parts = ImageParts(n);
  if (scratch_.size() < static_cast<size_t>(parts)) scratch_.resize(static_cast<size_t>(parts));
  if (SplitByPoints(n, parts)) {
    WithTransforms([&](auto t) {
      ConvolveByPoints<decltype(t)>(in, n, c_in, c_out, u, point_map, transposed, parts, out);
    });
    return;
  }
  const auto part_fn = [&](int part, int64_t begin, int64_t end) {
    const float* part_in = in + begin * h_ * w_ * c_in;
    float* part_out = out + begin * h_ * w_ * c_out;
    WithTransforms([&](auto t) {
      ConvolvePart<decltype(t)>(part, part_in, end - begin, c_in, c_out, u, point_map, transposed,
                                part_out);
    });
  };
  RunLayerPartsOnSerialBlas(parts, n, part_fn);
}

template <typename T>
void WinogradConv::ConvolvePart(int part, const float* in, int64_t n, int64_t c_in, int64_t c_out,
                                const float* u, const int* point_map, bool transposed, float* out) {
  const int64_t chunk = ChunkImages(n);
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  Scratch& s = scratch_[static_cast<size_t>(part)];
  s.v.resize(static_cast<size_t>(points_ * chunk * tiles_per_image * c_in));
  s.m.resize(static_cast<size_t>(points_ * chunk * tiles_per_image * c_out));
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t images = std::min(chunk, n - b);
    const int64_t tiles = images * tiles_per_image;
    InputTransform<T>(in + b * h_ * w_ * c_in, images, c_in, s.v.data());
    Products(s.v.data(), tiles, c_in, c_out, u, point_map, transposed, s.m.data(), 0, points_);
    OutputTransform<T>(s.m.data(), images, c_out, out + b * h_ * w_ * c_out);
  }
}

template <typename T>
void WinogradConv::WeightProductsPart(int part, const float* x, const float* dy, int64_t n) {
  const int64_t chunk = ChunkImages(n);
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t pairs = cin_ * cout_;
  Scratch& s = scratch_[static_cast<size_t>(part)];
  s.v.resize(static_cast<size_t>(points_ * chunk * tiles_per_image * cin_));
  s.dm.resize(static_cast<size_t>(points_ * chunk * tiles_per_image * cout_));
  s.du.resize(static_cast<size_t>(points_ * pairs));
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t images = std::min(chunk, n - b);
    const int64_t tiles = images * tiles_per_image;
    InputTransform<T>(x + b * h_ * w_ * cin_, images, cin_, s.v.data());
    OutputAdjoint<T>(dy + b * h_ * w_ * cout_, images, cout_, s.dm.data());
    WeightProducts(s.v.data(), s.dm.data(), tiles, b == 0 ? 0.0f : 1.0f, s.du.data(), 0, points_);
  }
}

void WinogradConv::Forward(const float* x, const float* weights, int64_t n, float* y) {
  if (n == 0) return;
  WithTransforms([&](auto t) { TransformWeights<decltype(t)>(weights, /*turned=*/false, &u_); });
  Convolve(x, n, cin_, cout_, u_.data(), /*point_map=*/nullptr, /*transposed=*/false, y);
}

void WinogradConv::Backward(const float* x, const float* weights, const float* dy, int64_t n,
                            float* dx, float* dweights) {
  const int64_t pairs = cin_ * cout_;
  if (n == 0) {
    std::fill(dweights, dweights + r_ * r_ * pairs, 0.0f);
    return;
  }
  // dU[k] = sum over tiles of V(x)[k]^T dM[k]: per part, then the parts'
  // sums added in part order into part 0's.
  const int parts = ImageParts(n);
  if (scratch_.size() < static_cast<size_t>(parts)) scratch_.resize(static_cast<size_t>(parts));
  const auto part_fn = [&](int part, int64_t begin, int64_t end) {
    const float* part_x = x + begin * h_ * w_ * cin_;
    const float* part_dy = dy + begin * h_ * w_ * cout_;
    WithTransforms(
        [&](auto t) { WeightProductsPart<decltype(t)>(part, part_x, part_dy, end - begin); });
  };
  if (SplitByPoints(n, parts)) {
    WithTransforms([&](auto t) { WeightProductsByPoints<decltype(t)>(x, dy, n, parts); });
  } else {
    RunLayerPartsOnSerialBlas(parts, n, part_fn);
    AddPartSums(scratch_[0].du.data(), parts, points_ * pairs,
                [&](int p) { return scratch_[static_cast<size_t>(p)].du.data(); });
  }
  WithTransforms([&](auto t) { WeightAdjoint<decltype(t)>(scratch_[0].du.data(), dweights); });
  if (dx == nullptr) return;
  // dx = conv(dy, g turned 180 degrees, channels swapped): the turned kernel's
  // transform [points][Cin][Cout], read transposed as [c_in = Cout][c_out = Cin]
  // (F(2x2): Forward's, at the points kTurned2 says).
  if (m_ == 2 && r_ == 3) {
    Convolve(dy, n, cout_, cin_, u_.data(), kTurned2, /*transposed=*/true, dx);
    return;
  }
  // Else the turned kernel's transform replaces Forward's in u_ (dW is done
  // and the next Forward makes its own), so a layer keeps one transform.
  WithTransforms([&](auto t) { TransformWeights<decltype(t)>(weights, /*turned=*/true, &u_); });
  Convolve(dy, n, cout_, cin_, u_.data(), /*point_map=*/nullptr, /*transposed=*/true, dx);
}

}  // namespace tessera
