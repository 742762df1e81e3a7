#include "nn/winograd.h"

#include <algorithm>
#include <cstring>

#include "common/simd_clones.h"
#include "nn/gemm.h"
#include "nn/layer_threads.h"

namespace tessera {
namespace {

// The 1-D transforms, each an Op: kIn values a[] to kOut values o[], of one
// channel (V = float) or of 16 channels at once (V = Vec16). F(2x2, 3x3):
// B^T (4 -> 4), B (4 -> 4), A^T (4 -> 2), A (2 -> 4), G (3 -> 4), G^T (4 -> 3),
// with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
struct BT4 {
  static constexpr int kIn = 4, kOut = 4;
  template <typename V>
  static void Apply(const V* a, V* o) {
    o[0] = a[0] - a[2];
    o[1] = a[1] + a[2];
    o[2] = a[2] - a[1];
    o[3] = a[1] - a[3];
  }
};

// B (4 -> 4), B^T's transpose: InputAdjoint's, for dx.
struct B4 {
  static constexpr int kIn = 4, kOut = 4;
  template <typename V>
  static void Apply(const V* a, V* o) {
    o[0] = a[0];
    o[1] = a[1] - a[2] + a[3];
    o[2] = a[1] + a[2] - a[0];
    o[3] = -a[3];
  }
};

struct AT4 {
  static constexpr int kIn = 4, kOut = 2;
  template <typename V>
  static void Apply(const V* a, V* o) {
    o[0] = a[0] + a[1] + a[2];
    o[1] = a[1] - a[2] - a[3];
  }
};

struct A4 {
  static constexpr int kIn = 2, kOut = 4;
  template <typename V>
  static void Apply(const V* a, V* o) {
    o[0] = a[0];
    o[1] = a[0] + a[1];
    o[2] = a[0] - a[1];
    o[3] = -a[1];
  }
};

struct G4 {
  static constexpr int kIn = 3, kOut = 4;
  template <typename V>
  static void Apply(const V* a, V* o) {
    o[0] = a[0];
    o[1] = 0.5f * (a[0] + a[1] + a[2]);
    o[2] = 0.5f * (a[0] - a[1] + a[2]);
    o[3] = a[2];
  }
};

struct GT4 {
  static constexpr int kIn = 4, kOut = 3;
  template <typename V>
  static void Apply(const V* a, V* o) {
    o[0] = a[0] + 0.5f * (a[1] + a[2]);
    o[1] = 0.5f * (a[1] - a[2]);
    o[2] = 0.5f * (a[1] + a[2]) + a[3];
  }
};

// F(4x4, 3x3), interpolation points 0, 1, -1, 2, -2 and infinity:
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//          0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
//          1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1].
struct BT6 {
  static constexpr int kIn = 6, kOut = 6;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V p = a[4] - 4.0f * a[2];  // shared by rows 1 and 2
    const V q = a[3] - 4.0f * a[1];
    const V r = a[4] - a[2];  // rows 3 and 4
    const V s = 2.0f * (a[3] - a[1]);
    o[0] = 4.0f * a[0] - 5.0f * a[2] + a[4];
    o[1] = p + q;
    o[2] = p - q;
    o[3] = r + s;
    o[4] = r - s;
    o[5] = 4.0f * a[1] - 5.0f * a[3] + a[5];
  }
};

struct B6 {
  static constexpr int kIn = 6, kOut = 6;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V sum12 = a[1] + a[2], dif12 = a[1] - a[2];
    const V sum34 = a[3] + a[4], dif34 = a[3] - a[4];
    o[0] = 4.0f * a[0];
    o[1] = 4.0f * (a[5] - dif12) - 2.0f * dif34;
    o[2] = -5.0f * a[0] - 4.0f * sum12 - sum34;
    o[3] = dif12 + 2.0f * dif34 - 5.0f * a[5];
    o[4] = a[0] + sum12 + sum34;
    o[5] = a[5];
  }
};

struct AT6 {
  static constexpr int kIn = 6, kOut = 4;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V sum12 = a[1] + a[2], dif12 = a[1] - a[2];
    const V sum34 = a[3] + a[4], dif34 = a[3] - a[4];
    o[0] = a[0] + sum12 + sum34;
    o[1] = dif12 + 2.0f * dif34;
    o[2] = sum12 + 4.0f * sum34;
    o[3] = dif12 + 8.0f * dif34 + a[5];
  }
};

struct A6 {
  static constexpr int kIn = 4, kOut = 6;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V even1 = a[0] + a[2], odd1 = a[1] + a[3];
    const V even2 = a[0] + 4.0f * a[2], odd2 = 2.0f * a[1] + 8.0f * a[3];
    o[0] = a[0];
    o[1] = even1 + odd1;
    o[2] = even1 - odd1;
    o[3] = even2 + odd2;
    o[4] = even2 - odd2;
    o[5] = a[3];
  }
};

struct G6 {
  static constexpr int kIn = 3, kOut = 6;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V even = a[0] + a[2];
    const V quarter = a[0] * (1.0f / 24.0f) + a[2] * (1.0f / 6.0f);
    o[0] = 0.25f * a[0];
    o[1] = -(1.0f / 6.0f) * (even + a[1]);
    o[2] = -(1.0f / 6.0f) * (even - a[1]);
    o[3] = quarter + a[1] * (1.0f / 12.0f);
    o[4] = quarter - a[1] * (1.0f / 12.0f);
    o[5] = a[2];
  }
};

struct GT6 {
  static constexpr int kIn = 6, kOut = 3;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V sum12 = a[1] + a[2], sum34 = a[3] + a[4];
    o[0] = 0.25f * a[0] - (1.0f / 6.0f) * sum12 + (1.0f / 24.0f) * sum34;
    o[1] = (1.0f / 6.0f) * (a[2] - a[1]) + (1.0f / 12.0f) * (a[3] - a[4]);
    o[2] = (1.0f / 6.0f) * (sum34 - sum12) + a[5];
  }
};

// F(4x4, 5x5): B^T (8 -> 8), B (8 -> 8), A^T (8 -> 4), A (4 -> 8), G (5 -> 8), G^T (8 -> 5),
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
struct BT8 {
  static constexpr int kIn = 8, kOut = 8;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V e1 = a[2] + a[6] - 4.25f * a[4], d1 = a[1] + a[5] - 4.25f * a[3];
    const V e2 = 0.25f * a[2] - 1.25f * a[4] + a[6];
    const V d2 = 0.5f * a[1] - 2.5f * a[3] + 2.0f * a[5];
    const V e3 = 4.0f * a[2] - 5.0f * a[4] + a[6];
    const V d3 = 2.0f * a[1] - 2.5f * a[3] + 0.5f * a[5];
    o[0] = a[6] - a[0] + 5.25f * (a[2] - a[4]);
    o[1] = e1 + d1;
    o[2] = e1 - d1;
    o[3] = e2 + d2;
    o[4] = e2 - d2;
    o[5] = e3 + d3;
    o[6] = e3 - d3;
    o[7] = a[7] - a[1] + 5.25f * (a[3] - a[5]);
  }
};

struct B8 {
  static constexpr int kIn = 8, kOut = 8;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V s12 = a[1] + a[2], d12 = a[1] - a[2];
    const V s34 = a[3] + a[4], d34 = a[3] - a[4];
    const V s56 = a[5] + a[6], d56 = a[5] - a[6];
    o[0] = -a[0];
    o[1] = d12 + 0.5f * d34 + 2.0f * d56 - a[7];
    o[2] = 5.25f * a[0] + s12 + 0.25f * s34 + 4.0f * s56;
    o[3] = 5.25f * a[7] - 4.25f * d12 - 2.5f * (d34 + d56);
    o[4] = -5.25f * a[0] - 4.25f * s12 - 1.25f * s34 - 5.0f * s56;
    o[5] = d12 + 2.0f * d34 + 0.5f * d56 - 5.25f * a[7];
    o[6] = a[0] + s12 + s34 + s56;
    o[7] = a[7];
  }
};

struct AT8 {
  static constexpr int kIn = 8, kOut = 4;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V s1 = a[1] + a[2], d1 = a[1] - a[2];
    const V s2 = a[3] + a[4], d2 = a[3] - a[4];
    const V s3 = a[5] + a[6], d3 = a[5] - a[6];
    o[0] = a[0] + s1 + s2 + s3;
    o[1] = d1 + 2.0f * d2 + 0.5f * d3;
    o[2] = s1 + 4.0f * s2 + 0.25f * s3;
    o[3] = d1 + 8.0f * d2 + 0.125f * d3 + a[7];
  }
};

struct A8 {
  static constexpr int kIn = 4, kOut = 8;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V e1 = a[0] + a[2], d1 = a[1] + a[3];
    const V e2 = a[0] + 4.0f * a[2], d2 = 2.0f * a[1] + 8.0f * a[3];
    const V e3 = a[0] + 0.25f * a[2], d3 = 0.5f * a[1] + 0.125f * a[3];
    o[0] = a[0];
    o[1] = e1 + d1;
    o[2] = e1 - d1;
    o[3] = e2 + d2;
    o[4] = e2 - d2;
    o[5] = e3 + d3;
    o[6] = e3 - d3;
    o[7] = a[3];
  }
};

struct G8 {
  static constexpr int kIn = 5, kOut = 8;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V e1 = a[0] + a[2] + a[4], d1 = a[1] + a[3];
    const V e2 = a[0] * (1.0f / 90.0f) + a[2] * (2.0f / 45.0f) + a[4] * (8.0f / 45.0f);
    const V d2 = a[1] * (1.0f / 45.0f) + a[3] * (4.0f / 45.0f);
    const V e3 = a[0] * (32.0f / 45.0f) + a[2] * (8.0f / 45.0f) + a[4] * (2.0f / 45.0f);
    const V d3 = a[1] * (16.0f / 45.0f) + a[3] * (4.0f / 45.0f);
    o[0] = -a[0];
    o[1] = -(2.0f / 9.0f) * (e1 + d1);
    o[2] = -(2.0f / 9.0f) * (e1 - d1);
    o[3] = e2 + d2;
    o[4] = e2 - d2;
    o[5] = e3 + d3;
    o[6] = e3 - d3;
    o[7] = a[4];
  }
};

struct GT8 {
  static constexpr int kIn = 8, kOut = 5;
  template <typename V>
  static void Apply(const V* a, V* o) {
    const V s12 = a[1] + a[2], d12 = a[1] - a[2];
    const V s34 = a[3] + a[4], d34 = a[3] - a[4];
    const V s56 = a[5] + a[6], d56 = a[5] - a[6];
    o[0] = -a[0] - (2.0f / 9.0f) * s12 + (1.0f / 90.0f) * s34 + (32.0f / 45.0f) * s56;
    o[1] = -(2.0f / 9.0f) * d12 + (1.0f / 45.0f) * d34 + (16.0f / 45.0f) * d56;
    o[2] = -(2.0f / 9.0f) * s12 + (2.0f / 45.0f) * s34 + (8.0f / 45.0f) * s56;
    o[3] = -(2.0f / 9.0f) * d12 + (4.0f / 45.0f) * d34 + (4.0f / 45.0f) * d56;
    o[4] = -(2.0f / 9.0f) * s12 + (8.0f / 45.0f) * s34 + (2.0f / 45.0f) * s56 + a[7];
  }
};

// 16 channels of a tile's point: one AVX-512 register, two AVX2 ones, or four
// SSE ones, as the clone of Transform2D running it has.
typedef float Vec16 __attribute__((vector_size(64)));

inline void Load(const float* p, float* v) { *v = *p; }
inline void Load(const float* p, Vec16* v) { std::memcpy(v, p, sizeof(Vec16)); }
inline void Store(float v, float* p) { *p = v; }
inline void Store(const Vec16& v, float* p) { std::memcpy(p, &v, sizeof(Vec16)); }

// out = Op x Op^T for one channel position (V = float) or 16 (V = Vec16):
// point (i, j) of x at in + i * in_row + j * in_col, of the result at
// out + i * out_row + j * out_col (added to what is there when kAdd). Op first
// down each column of x, then along each row of that, with nothing in between
// leaving registers but spills.
template <typename Op, typename V, bool kAdd>
inline __attribute__((always_inline)) void Tile2D(const float* in, int64_t in_row, int64_t in_col,
                                                  float* out, int64_t out_row, int64_t out_col) {
  constexpr int kIn = Op::kIn, kOut = Op::kOut;
  V t[kOut][kIn];
#pragma GCC unroll 8
  for (int j = 0; j < kIn; ++j) {
    V a[kIn], o[kOut];
#pragma GCC unroll 8
    for (int i = 0; i < kIn; ++i) Load(in + i * in_row + j * in_col, &a[i]);
    Op::Apply(a, o);
#pragma GCC unroll 8
    for (int i = 0; i < kOut; ++i) t[i][j] = o[i];
  }
#pragma GCC unroll 8
  for (int i = 0; i < kOut; ++i) {
    V o[kOut];
    Op::Apply(t[i], o);
#pragma GCC unroll 8
    for (int j = 0; j < kOut; ++j) {
      float* p = out + i * out_row + j * out_col;
      if constexpr (kAdd) {
        V sum;
        Load(p, &sum);
        Store(sum + o[j], p);
      } else {
        Store(o[j], p);
      }
    }
  }
}

// Tile2D for the `n` channel positions laid end to end from in and out (the
// strides as there): the 2-D transform of a tile in one pass over its
// channels, instead of a 1-D pass into a buffer and a second out of it.
template <typename Op, bool kAdd = false>
TESSERA_SIMD_CLONES void Transform2D(const float* in, int64_t in_row, int64_t in_col, float* out,
                                     int64_t out_row, int64_t out_col, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Tile2D<Op, Vec16, kAdd>(in + i, in_row, in_col, out + i, out_row, out_col);
  }
  for (; i < n; ++i) Tile2D<Op, float, kAdd>(in + i, in_row, in_col, out + i, out_row, out_col);
}

// The transforms of F(M x M, R x R): kAlpha = M + R - 1 points per dimension.
template <int M, int R>
struct Transforms;

template <>
struct Transforms<2, 3> {
  static constexpr int kM = 2, kR = 3, kAlpha = 4;
  using BT = BT4;
  using B = B4;
  using AT = AT4;
  using A = A4;
  using G = G4;
  using GT = GT4;
};

template <>
struct Transforms<4, 3> {
  static constexpr int kM = 4, kR = 3, kAlpha = 6;
  using BT = BT6;
  using B = B6;
  using AT = AT6;
  using A = A6;
  using G = G6;
  using GT = GT6;
};

template <>
struct Transforms<4, 5> {
  static constexpr int kM = 4, kR = 5, kAlpha = 8;
  using BT = BT8;
  using B = B8;
  using AT = AT8;
  using A = A8;
  using G = G8;
  using GT = GT8;
};

// Channels per block of a tile reaching past the image's edge, copied with
// zeros around it (PatchesToPoints) or written there first (OutputTransform,
// InputAdjoint): the block stays in L1.
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
      tiles_x_(CeilDiv(w, m_)) {}

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
void WinogradConv::TransformWeights(const float* weights) {
  constexpr int R = T::kR, kA = T::kAlpha;
  // U = G g G^T over the (ci, co) pairs laid end to end.
  const int64_t pairs = cin_ * cout_;
  u_.resize(static_cast<size_t>(points_ * pairs));
  float* u = u_.data();
  LayerParallelFor(pairs, 1, [&](int64_t begin, int64_t end) {
    Transform2D<typename T::G>(weights + begin, R * pairs, pairs, u + begin, kA * pairs, pairs,
                               end - begin);
  });
}

template <int M, typename Op>
void WinogradConv::PatchesToPoints(const float* in, int64_t n, int64_t c, int64_t shift,
                                   float* out) {
  constexpr int kIn = Op::kIn, kOut = Op::kOut;
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  LayerParallelFor(tiles, 1, [&](int64_t begin, int64_t end) {
    float pad[kIn][kIn][kBlock];  // a patch reaching beyond the edge, zeros there
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t y0 = M * ((t % tiles_per_image) / tiles_x_) - shift;
      const int64_t x0 = M * (t % tiles_x_) - shift;
      float* points = out + t * c;
      if (y0 >= 0 && y0 + kIn <= h_ && x0 >= 0 && x0 + kIn <= w_) {
        Transform2D<Op>(in + ((b * h_ + y0) * w_ + x0) * c, w_ * c, c, points, kOut * plane, plane,
                        c);
        continue;
      }
      for (int64_t c0 = 0; c0 < c; c0 += kBlock) {
        const int64_t cb = std::min(kBlock, c - c0);
        for (int i = 0; i < kIn; ++i) {
          for (int j = 0; j < kIn; ++j) {
            const int64_t y = y0 + i, x = x0 + j;
            if (y < 0 || y >= h_ || x < 0 || x >= w_) {
              std::fill(pad[i][j], pad[i][j] + cb, 0.0f);
            } else {
              const float* src = in + ((b * h_ + y) * w_ + x) * c + c0;
              std::copy(src, src + cb, pad[i][j]);
            }
          }
        }
        Transform2D<Op>(&pad[0][0][0], kIn * kBlock, kBlock, points + c0, kOut * plane, plane, cb);
      }
    }
  });
}

template <typename T>
void WinogradConv::InputTransform(const float* in, int64_t n, int64_t c, float* v) {
  // The (m+r-1)^2 input tile around each output tile: r-1 / 2 cells before it.
  PatchesToPoints<T::kM, typename T::BT>(in, n, c, (T::kR - 1) / 2, v);
}

template <typename T>
void WinogradConv::OutputTransform(const float* m, int64_t n, int64_t c, float* out) {
  constexpr int M = T::kM, kA = T::kAlpha;
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  LayerParallelFor(tiles, 1, [&](int64_t begin, int64_t end) {
    float part[M][M][kBlock];  // a tile reaching beyond the edge, then its cells inside
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t y0 = M * ((t % tiles_per_image) / tiles_x_);
      const int64_t x0 = M * (t % tiles_x_);
      const float* src = m + t * c;
      float* y = out + ((b * h_ + y0) * w_ + x0) * c;
      if (y0 + M <= h_ && x0 + M <= w_) {
        Transform2D<typename T::AT>(src, kA * plane, plane, y, w_ * c, c, c);
        continue;
      }
      for (int64_t c0 = 0; c0 < c; c0 += kBlock) {
        const int64_t cb = std::min(kBlock, c - c0);
        Transform2D<typename T::AT>(src + c0, kA * plane, plane, &part[0][0][0], M * kBlock, kBlock,
                                    cb);
        for (int a = 0; a < M && y0 + a < h_; ++a) {
          for (int e = 0; e < M && x0 + e < w_; ++e) {
            std::copy(part[a][e], part[a][e] + cb, y + (a * w_ + e) * c + c0);
          }
        }
      }
    }
  });
}

template <typename T>
void WinogradConv::OutputAdjoint(const float* dy, int64_t n, int64_t c, float* dm) {
  PatchesToPoints<T::kM, typename T::A>(dy, n, c, /*shift=*/0, dm);
}

template <typename T>
void WinogradConv::InputAdjoint(const float* dv, int64_t n, int64_t c, float* dx) {
  constexpr int M = T::kM, kA = T::kAlpha;
  constexpr int64_t kShift = (T::kR - 1) / 2;  // as InputTransform's patches
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t plane = n * tiles_per_image * c;
  // By images: neighbouring tiles' patches overlap, so one image's tiles add
  // into its dx on one thread.
  LayerParallelFor(n, 1, [&](int64_t begin, int64_t end) {
    float patch[kA][kA][kBlock];  // a patch reaching beyond the edge
    for (int64_t b = begin; b < end; ++b) {
      float* image = dx + b * h_ * w_ * c;
      std::fill(image, image + h_ * w_ * c, 0.0f);
      for (int64_t t = b * tiles_per_image; t < (b + 1) * tiles_per_image; ++t) {
        const int64_t y0 = M * ((t % tiles_per_image) / tiles_x_) - kShift;
        const int64_t x0 = M * (t % tiles_x_) - kShift;
        const float* src = dv + t * c;
        if (y0 >= 0 && y0 + kA <= h_ && x0 >= 0 && x0 + kA <= w_) {
          Transform2D<typename T::B, /*kAdd=*/true>(src, kA * plane, plane,
                                                    image + (y0 * w_ + x0) * c, w_ * c, c, c);
          continue;
        }
        for (int64_t c0 = 0; c0 < c; c0 += kBlock) {
          const int64_t cb = std::min(kBlock, c - c0);
          Transform2D<typename T::B>(src + c0, kA * plane, plane, &patch[0][0][0], kA * kBlock,
                                     kBlock, cb);
          for (int i = 0; i < kA; ++i) {
            const int64_t y = y0 + i;
            if (y < 0 || y >= h_) continue;
            for (int j = 0; j < kA; ++j) {
              const int64_t x = x0 + j;
              if (x < 0 || x >= w_) continue;
              float* cell = image + (y * w_ + x) * c + c0;
              for (int64_t k = 0; k < cb; ++k) cell[k] += patch[i][j][k];
            }
          }
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
    Transform2D<typename T::GT>(du + begin, kA * pairs, pairs, dweights + begin, R * pairs, pairs,
                                end - begin);
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

void WinogradConv::Products(const float* v, int64_t tiles, float* m, int64_t k_begin,
                            int64_t k_end) const {
  const int64_t pairs = cin_ * cout_;
  for (int64_t k = k_begin; k < k_end; ++k) {
    Sgemm(CblasNoTrans, CblasNoTrans, tiles, cout_, cin_, 1.0f, v + k * tiles * cin_, cin_,
          u_.data() + k * pairs, cout_, 0.0f, m + k * tiles * cout_, cout_);
  }
}

void WinogradConv::BackwardProducts(float* v, const float* dm, int64_t tiles, float beta, float* du,
                                    bool with_dv, int64_t k_begin, int64_t k_end) const {
  const int64_t pairs = cin_ * cout_;
  for (int64_t k = k_begin; k < k_end; ++k) {
    float* vk = v + k * tiles * cin_;
    const float* dmk = dm + k * tiles * cout_;
    Sgemm(CblasTrans, CblasNoTrans, cin_, cout_, tiles, 1.0f, vk, cin_, dmk, cout_, beta,
          du + k * pairs, cout_);
    if (with_dv) {
      Sgemm(CblasNoTrans, CblasTrans, tiles, cin_, cout_, 1.0f, dmk, cout_, u_.data() + k * pairs,
            cout_, 0.0f, vk, cin_);
    }
  }
}

template <typename T>
void WinogradConv::ConvolveByPoints(const float* x, int64_t n, int parts, float* y) {
  const int64_t tiles = n * tiles_y_ * tiles_x_;
  Scratch& s = scratch_[0];
  s.v.resize(static_cast<size_t>(points_ * tiles * cin_));
  s.m.resize(static_cast<size_t>(points_ * tiles * cout_));
  InputTransform<T>(x, n, cin_, s.v.data());
  RunLayerPartsOnSerialBlas(parts, points_, [&](int, int64_t begin, int64_t end) {
    Products(s.v.data(), tiles, s.m.data(), begin, end);
  });
  OutputTransform<T>(s.m.data(), n, cout_, y);
}

template <typename T>
void WinogradConv::BackwardByPoints(const float* x, const float* dy, int64_t n, int parts,
                                    float* dx) {
  const int64_t tiles = n * tiles_y_ * tiles_x_;
  Scratch& s = scratch_[0];
  s.v.resize(static_cast<size_t>(points_ * tiles * cin_));
  s.dm.resize(static_cast<size_t>(points_ * tiles * cout_));
  s.du.resize(static_cast<size_t>(points_ * cin_ * cout_));
  InputTransform<T>(x, n, cin_, s.v.data());
  OutputAdjoint<T>(dy, n, cout_, s.dm.data());
  RunLayerPartsOnSerialBlas(parts, points_, [&](int, int64_t begin, int64_t end) {
    BackwardProducts(s.v.data(), s.dm.data(), tiles, 0.0f, s.du.data(), dx != nullptr, begin, end);
  });
  if (dx != nullptr) InputAdjoint<T>(s.v.data(), n, cin_, dx);
}

template <typename T>
void WinogradConv::ConvolvePart(int part, const float* x, int64_t n, float* y) {
  const int64_t chunk = ChunkImages(n);
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  Scratch& s = scratch_[static_cast<size_t>(part)];
  s.v.resize(static_cast<size_t>(points_ * chunk * tiles_per_image * cin_));
  s.m.resize(static_cast<size_t>(points_ * chunk * tiles_per_image * cout_));
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t images = std::min(chunk, n - b);
    const int64_t tiles = images * tiles_per_image;
    InputTransform<T>(x + b * h_ * w_ * cin_, images, cin_, s.v.data());
    Products(s.v.data(), tiles, s.m.data(), 0, points_);
    OutputTransform<T>(s.m.data(), images, cout_, y + b * h_ * w_ * cout_);
  }
}

template <typename T>
void WinogradConv::BackwardPart(int part, const float* x, const float* dy, int64_t n, float* dx) {
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
    BackwardProducts(s.v.data(), s.dm.data(), tiles, b == 0 ? 0.0f : 1.0f, s.du.data(),
                     dx != nullptr, 0, points_);
    if (dx != nullptr) InputAdjoint<T>(s.v.data(), images, cin_, dx + b * h_ * w_ * cin_);
  }
}

void WinogradConv::Forward(const float* x, const float* weights, int64_t n, float* y) {
  if (n == 0) return;
  WithTransforms([&](auto t) { TransformWeights<decltype(t)>(weights); });
  const int parts = ImageParts(n);
  if (scratch_.size() < static_cast<size_t>(parts)) scratch_.resize(static_cast<size_t>(parts));
  if (SplitByPoints(n, parts)) {
    WithTransforms([&](auto t) { ConvolveByPoints<decltype(t)>(x, n, parts, y); });
    return;
  }
  RunLayerPartsOnSerialBlas(parts, n, [&](int part, int64_t begin, int64_t end) {
    WithTransforms([&](auto t) {
      ConvolvePart<decltype(t)>(part, x + begin * h_ * w_ * cin_, end - begin,
                                y + begin * h_ * w_ * cout_);
    });
  });
}

void WinogradConv::Backward(const float* x, const float* dy, int64_t n, float* dx,
                            float* dweights) {
  const int64_t pairs = cin_ * cout_;
  if (n == 0) {
    std::fill(dweights, dweights + r_ * r_ * pairs, 0.0f);
    return;
  }
  // dU[k] = sum over tiles of V(x)[k]^T dM[k] (per part, then the parts' sums
  // added in part order into part 0's); dV[k] = dM[k] U[k]^T, into V[k]'s
  // place once dU[k] has read it, for dx.
  const int parts = ImageParts(n);
  if (scratch_.size() < static_cast<size_t>(parts)) scratch_.resize(static_cast<size_t>(parts));
  if (SplitByPoints(n, parts)) {
    WithTransforms([&](auto t) { BackwardByPoints<decltype(t)>(x, dy, n, parts, dx); });
  } else {
    RunLayerPartsOnSerialBlas(parts, n, [&](int part, int64_t begin, int64_t end) {
      WithTransforms([&](auto t) {
        BackwardPart<decltype(t)>(part, x + begin * h_ * w_ * cin_, dy + begin * h_ * w_ * cout_,
                                  end - begin,
                                  dx != nullptr ? dx + begin * h_ * w_ * cin_ : nullptr);
      });
    });
    AddPartSums(scratch_[0].du.data(), parts, points_ * pairs,
                [&](int p) { return scratch_[static_cast<size_t>(p)].du.data(); });
  }
  WithTransforms([&](auto t) { WeightAdjoint<decltype(t)>(scratch_[0].du.data(), dweights); });
}

}  // namespace tessera
