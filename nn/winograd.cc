#include "nn/winograd.h"

#include <cblas.h>

#include <algorithm>

#include "nn/blas_kernel.h"
#include "nn/layer_threads.h"

namespace tessera {
namespace {

constexpr int kPoints = 16;  // 4x4 points of a tile in the transformed domain

// Point (i, j) of a kernel turned 180 degrees is point (P(i), P(j)) of the
// kernel's transform, P swapping 0 and 3: G's rows with their columns reversed
// are its rows 3, 1, 2, 0.
constexpr int kTurned[4] = {3, 1, 2, 0};

// The 1-D transforms, each over `n` channels (or channel pairs) at once, so
// that the loops vectorize: B^T (4 -> 4), A^T (4 -> 2), A (2 -> 4), G (3 -> 4)
// and G^T (4 -> 3).
void TransformBT(const float* __restrict a0, const float* __restrict a1,
                 const float* __restrict a2, const float* __restrict a3, float* __restrict o0,
                 float* __restrict o1, float* __restrict o2, float* __restrict o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i] - a2[i];
    o1[i] = a1[i] + a2[i];
    o2[i] = a2[i] - a1[i];
    o3[i] = a1[i] - a3[i];
  }
}

void TransformAT(const float* __restrict a0, const float* __restrict a1,
                 const float* __restrict a2, const float* __restrict a3, float* __restrict o0,
                 float* __restrict o1, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i] + a1[i] + a2[i];
    o1[i] = a1[i] - a2[i] - a3[i];
  }
}

void TransformA(const float* __restrict a0, const float* __restrict a1, float* __restrict o0,
                float* __restrict o1, float* __restrict o2, float* __restrict o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i];
    o1[i] = a0[i] + a1[i];
    o2[i] = a0[i] - a1[i];
    o3[i] = -a1[i];
  }
}

void TransformG(const float* __restrict a0, const float* __restrict a1,
                const float* __restrict a2, float* __restrict o0, float* __restrict o1,
                float* __restrict o2, float* __restrict o3, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i];
    o1[i] = 0.5f * (a0[i] + a1[i] + a2[i]);
    o2[i] = 0.5f * (a0[i] - a1[i] + a2[i]);
    o3[i] = a2[i];
  }
}

void TransformGT(const float* __restrict a0, const float* __restrict a1,
                 const float* __restrict a2, const float* __restrict a3, float* __restrict o0,
                 float* __restrict o1, float* __restrict o2, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    o0[i] = a0[i] + 0.5f * (a1[i] + a2[i]);
    o1[i] = 0.5f * (a1[i] - a2[i]);
    o2[i] = 0.5f * (a1[i] + a2[i]) + a3[i];
  }
}

// Channels per block of a transform: its 16 intermediate rows stay in L1.
constexpr int64_t kBlock = 64;

}  // namespace

Winograd3x3::Winograd3x3(int64_t h, int64_t w, int64_t cin, int64_t cout)
    : h_(h),
      w_(w),
      cin_(cin),
      cout_(cout),
      tiles_y_((h + 1) / 2),
      tiles_x_((w + 1) / 2),
      zeros_(static_cast<size_t>(std::max(cin, cout)), 0.0f) {}

int64_t Winograd3x3::ChunkImages(int64_t n) const {
  const int64_t bytes = tiles_y_ * tiles_x_ * kPoints * (cin_ + cout_) * int64_t{sizeof(float)};
  return std::clamp<int64_t>(kChunkBytes / std::max<int64_t>(bytes, 1), 1,
                             std::max<int64_t>(n, 1));
}

void Winograd3x3::TransformWeights(const float* weights) {
  // U = G g G^T, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], over the
  // (ci, co) pairs laid end to end.
  const int64_t pairs = cin_ * cout_;
  u_.resize(static_cast<size_t>(kPoints * pairs));
  float* u = u_.data();
  LayerParallelFor(pairs, 1, [&](int64_t begin, int64_t end) {
    float q[4][3][kBlock];
    for (int64_t e = begin; e < end; e += kBlock) {
      const int64_t n = std::min(kBlock, end - e);
      for (int kx = 0; kx < 3; ++kx) {
        TransformG(weights + (0 * 3 + kx) * pairs + e, weights + (1 * 3 + kx) * pairs + e,
                   weights + (2 * 3 + kx) * pairs + e, q[0][kx], q[1][kx], q[2][kx], q[3][kx], n);
      }
      for (int i = 0; i < 4; ++i) {
        float* row = u + i * 4 * pairs + e;
        TransformG(q[i][0], q[i][1], q[i][2], row, row + pairs, row + 2 * pairs, row + 3 * pairs,
                   n);
      }
    }
  });
}

void Winograd3x3::InputTransform(const float* in, int64_t n, int64_t c, float* v) {
  // V = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  LayerParallelFor(tiles, 1, [&](int64_t begin, int64_t end) {
    const float* d[4][4];
    float r[4][4][kBlock];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t ty = (t % tiles_per_image) / tiles_x_;
      const int64_t tx = t % tiles_x_;
      for (int i = 0; i < 4; ++i) {
        const int64_t y = 2 * ty - 1 + i;
        for (int j = 0; j < 4; ++j) {
          const int64_t x = 2 * tx - 1 + j;
          d[i][j] = (y < 0 || y >= h_ || x < 0 || x >= w_) ? zeros_.data()
                                                           : in + ((b * h_ + y) * w_ + x) * c;
        }
      }
      for (int64_t c0 = 0; c0 < c; c0 += kBlock) {
        const int64_t cb = std::min(kBlock, c - c0);
        for (int j = 0; j < 4; ++j) {
          TransformBT(d[0][j] + c0, d[1][j] + c0, d[2][j] + c0, d[3][j] + c0, r[0][j], r[1][j],
                      r[2][j], r[3][j], cb);
        }
        for (int i = 0; i < 4; ++i) {
          float* row = v + i * 4 * plane + t * c + c0;
          TransformBT(r[i][0], r[i][1], r[i][2], r[i][3], row, row + plane, row + 2 * plane,
                      row + 3 * plane, cb);
        }
      }
    }
  });
}

void Winograd3x3::OutputTransform(const float* m, int64_t n, int64_t c, float* out) {
  // Y = A^T M A, A^T = [1 1 1 0; 0 1 -1 -1].
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  LayerParallelFor(tiles, 1, [&](int64_t begin, int64_t end) {
    float s[2][4][kBlock];
    float spill[kBlock];  // outputs beyond the image's edge
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t ty = (t % tiles_per_image) / tiles_x_;
      const int64_t tx = t % tiles_x_;
      float* y[2][2];
      bool inside[2][2];
      for (int a = 0; a < 2; ++a) {
        for (int e = 0; e < 2; ++e) {
          const int64_t oy = 2 * ty + a, ox = 2 * tx + e;
          inside[a][e] = oy < h_ && ox < w_;
          y[a][e] = inside[a][e] ? out + ((b * h_ + oy) * w_ + ox) * c : nullptr;
        }
      }
      const float* src = m + t * c;
      for (int64_t c0 = 0; c0 < c; c0 += kBlock) {
        const int64_t cb = std::min(kBlock, c - c0);
        for (int j = 0; j < 4; ++j) {
          TransformAT(src + j * plane + c0, src + (4 + j) * plane + c0,
                      src + (8 + j) * plane + c0, src + (12 + j) * plane + c0, s[0][j], s[1][j],
                      cb);
        }
        for (int a = 0; a < 2; ++a) {
          TransformAT(s[a][0], s[a][1], s[a][2], s[a][3],
                      inside[a][0] ? y[a][0] + c0 : spill, inside[a][1] ? y[a][1] + c0 : spill,
                      cb);
        }
      }
    }
  });
}

void Winograd3x3::OutputAdjoint(const float* dy, int64_t n, int64_t c, float* dm) {
  // dM = A dY A^T (dY zero beyond the edge), A = [1 0; 1 1; 1 -1; 0 -1].
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  LayerParallelFor(tiles, 1, [&](int64_t begin, int64_t end) {
    float r[4][2][kBlock];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t ty = (t % tiles_per_image) / tiles_x_;
      const int64_t tx = t % tiles_x_;
      const float* g[2][2];
      for (int a = 0; a < 2; ++a) {
        for (int e = 0; e < 2; ++e) {
          const int64_t oy = 2 * ty + a, ox = 2 * tx + e;
          g[a][e] = oy < h_ && ox < w_ ? dy + ((b * h_ + oy) * w_ + ox) * c : zeros_.data();
        }
      }
      for (int64_t c0 = 0; c0 < c; c0 += kBlock) {
        const int64_t cb = std::min(kBlock, c - c0);
        for (int e = 0; e < 2; ++e) {
          TransformA(g[0][e] + c0, g[1][e] + c0, r[0][e], r[1][e], r[2][e], r[3][e], cb);
        }
        for (int i = 0; i < 4; ++i) {
          float* row = dm + i * 4 * plane + t * c + c0;
          TransformA(r[i][0], r[i][1], row, row + plane, row + 2 * plane, row + 3 * plane, cb);
        }
      }
    }
  });
}

int Winograd3x3::ImageParts(int64_t n) { return LayerParts(n, 1); }

void Winograd3x3::Convolve(const float* in, int64_t n, int64_t c_in, int64_t c_out, bool turned,
                           float* out) {
  const int parts = ImageParts(n);
  if (scratch_.size() < static_cast<size_t>(parts)) scratch_.resize(static_cast<size_t>(parts));
  if (parts == 1) {
    ConvolvePart(0, in, n, c_in, c_out, turned, out);
    return;
  }
  ScopedBlasThreads serial(1);
  RunLayerParts(parts, n, [&](int part, int64_t begin, int64_t end) {
    ConvolvePart(part, in + begin * h_ * w_ * c_in, end - begin, c_in, c_out, turned,
                 out + begin * h_ * w_ * c_out);
  });
}

void Winograd3x3::ConvolvePart(int part, const float* in, int64_t n, int64_t c_in, int64_t c_out,
                               bool turned, float* out) {
  const int64_t chunk = ChunkImages(n);
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t pairs = cin_ * cout_;
  Scratch& s = scratch_[static_cast<size_t>(part)];
  s.v.resize(static_cast<size_t>(kPoints * chunk * tiles_per_image * c_in));
  s.m.resize(static_cast<size_t>(kPoints * chunk * tiles_per_image * c_out));
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t images = std::min(chunk, n - b);
    const int64_t tiles = images * tiles_per_image;
    InputTransform(in + b * h_ * w_ * c_in, images, c_in, s.v.data());
    for (int k = 0; k < kPoints; ++k) {
      // Turned, point k's kernel is u_'s point (P(i), P(j)), [c_out][c_in].
      const float* u = u_.data() + (turned ? kTurned[k / 4] * 4 + kTurned[k % 4] : k) * pairs;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, turned ? CblasTrans : CblasNoTrans, tiles, c_out,
                  c_in, 1.0f, s.v.data() + k * tiles * c_in, c_in, u, turned ? c_in : c_out, 0.0f,
                  s.m.data() + k * tiles * c_out, c_out);
    }
    OutputTransform(s.m.data(), images, c_out, out + b * h_ * w_ * c_out);
  }
}

void Winograd3x3::WeightProductsPart(int part, const float* x, const float* dy, int64_t n) {
  const int64_t chunk = ChunkImages(n);
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t pairs = cin_ * cout_;
  Scratch& s = scratch_[static_cast<size_t>(part)];
  s.v.resize(static_cast<size_t>(kPoints * chunk * tiles_per_image * cin_));
  s.dm.resize(static_cast<size_t>(kPoints * chunk * tiles_per_image * cout_));
  s.du.resize(static_cast<size_t>(kPoints * pairs));
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t images = std::min(chunk, n - b);
    const int64_t tiles = images * tiles_per_image;
    InputTransform(x + b * h_ * w_ * cin_, images, cin_, s.v.data());
    OutputAdjoint(dy + b * h_ * w_ * cout_, images, cout_, s.dm.data());
    for (int k = 0; k < kPoints; ++k) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cin_, cout_, tiles, 1.0f,
                  s.v.data() + k * tiles * cin_, cin_, s.dm.data() + k * tiles * cout_, cout_,
                  b == 0 ? 0.0f : 1.0f, s.du.data() + k * pairs, cout_);
    }
  }
}

void Winograd3x3::Forward(const float* x, const float* weights, int64_t n, float* y) {
  if (n == 0) return;
  TransformWeights(weights);
  Convolve(x, n, cin_, cout_, /*turned=*/false, y);
}

void Winograd3x3::Backward(const float* x, const float* dy, int64_t n, float* dx,
                           float* dweights) {
  const int64_t pairs = cin_ * cout_;
  if (n == 0) {
    std::fill(dweights, dweights + 9 * pairs, 0.0f);
    return;
  }
  // dU[k] = sum over tiles of V(x)[k]^T dM[k]: per part, then the parts'
  // sums added in part order into part 0's.
  const int parts = ImageParts(n);
  if (scratch_.size() < static_cast<size_t>(parts)) scratch_.resize(static_cast<size_t>(parts));
  if (parts == 1) {
    WeightProductsPart(0, x, dy, n);
  } else {
    {
      ScopedBlasThreads serial(1);
      RunLayerParts(parts, n, [&](int part, int64_t begin, int64_t end) {
        WeightProductsPart(part, x + begin * h_ * w_ * cin_, dy + begin * h_ * w_ * cout_,
                           end - begin);
      });
    }
    float* sum = scratch_[0].du.data();
    LayerParallelFor(kPoints * pairs, kMinElementsPerPart, [&](int64_t begin, int64_t end) {
      for (int p = 1; p < parts; ++p) {
        const float* add = scratch_[static_cast<size_t>(p)].du.data();
        for (int64_t i = begin; i < end; ++i) sum[i] += add[i];
      }
    });
  }
  // dg = G^T dU G, over the (ci, co) pairs laid end to end.
  const float* du = scratch_[0].du.data();
  LayerParallelFor(pairs, 1, [&](int64_t begin, int64_t end) {
    float p[3][4][kBlock];
    for (int64_t e = begin; e < end; e += kBlock) {
      const int64_t cb = std::min(kBlock, end - e);
      for (int j = 0; j < 4; ++j) {
        TransformGT(du + j * pairs + e, du + (4 + j) * pairs + e, du + (8 + j) * pairs + e,
                    du + (12 + j) * pairs + e, p[0][j], p[1][j], p[2][j], cb);
      }
      for (int ky = 0; ky < 3; ++ky) {
        float* row = dweights + ky * 3 * pairs + e;
        TransformGT(p[ky][0], p[ky][1], p[ky][2], p[ky][3], row, row + pairs, row + 2 * pairs,
                    cb);
      }
    }
  });
  // dx = conv(dy, g turned 180 degrees, channels swapped).
  if (dx != nullptr) Convolve(dy, n, cout_, cin_, /*turned=*/true, dx);
}

}  // namespace tessera
