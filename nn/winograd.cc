#include "nn/winograd.h"

#include <cblas.h>

#include <algorithm>

namespace tessera {
namespace {

constexpr int kPoints = 16;  // 4x4 points of a tile in the transformed domain

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

template <typename Fn>
void Winograd3x3::ParallelFor(int64_t count, Fn fn) {
  const int threads = openblas_get_num_threads();
  const int parts = static_cast<int>(std::min<int64_t>(std::max(threads, 1), count));
  if (parts <= 1) {
    if (count > 0) fn(int64_t{0}, count);
    return;
  }
  if (runner_ == nullptr || runner_->width() < parts) {
    runner_ = std::make_unique<ParallelRunner>(parts);
  }
  runner_->Run(parts, [&](int i) { fn(count * i / parts, count * (i + 1) / parts); });
}

void Winograd3x3::TransformWeights(const float* weights, bool flip, std::vector<float>* u) {
  // U = G g G^T, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
  const int64_t pairs = cin_ * cout_;
  u->resize(static_cast<size_t>(kPoints * pairs));
  float* out = u->data();
  ParallelFor(cin_, [&](int64_t ci_begin, int64_t ci_end) {
    for (int64_t ci = ci_begin; ci < ci_end; ++ci) {
      for (int64_t co = 0; co < cout_; ++co) {
        float g[3][3];
        for (int ky = 0; ky < 3; ++ky) {
          for (int kx = 0; kx < 3; ++kx) {
            g[ky][kx] = flip ? weights[((2 - ky) * 3 + (2 - kx)) * pairs + ci * cout_ + co]
                             : weights[(ky * 3 + kx) * pairs + ci * cout_ + co];
          }
        }
        float q[4][3];
        for (int kx = 0; kx < 3; ++kx) {
          q[0][kx] = g[0][kx];
          q[1][kx] = 0.5f * (g[0][kx] + g[1][kx] + g[2][kx]);
          q[2][kx] = 0.5f * (g[0][kx] - g[1][kx] + g[2][kx]);
          q[3][kx] = g[2][kx];
        }
        // Flipped, u is [16][co][ci]: the kernel of dx = conv(dy, g').
        const int64_t at = flip ? co * cin_ + ci : ci * cout_ + co;
        for (int i = 0; i < 4; ++i) {
          float* row = out + i * 4 * pairs + at;
          row[0 * pairs] = q[i][0];
          row[1 * pairs] = 0.5f * (q[i][0] + q[i][1] + q[i][2]);
          row[2 * pairs] = 0.5f * (q[i][0] - q[i][1] + q[i][2]);
          row[3 * pairs] = q[i][2];
        }
      }
    }
  });
}

void Winograd3x3::InputTransform(const float* in, int64_t n, int64_t c, float* v) {
  // V = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  ParallelFor(tiles, [&](int64_t begin, int64_t end) {
    const float* d[16];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t ty = (t % tiles_per_image) / tiles_x_;
      const int64_t tx = t % tiles_x_;
      for (int i = 0; i < 4; ++i) {
        const int64_t y = 2 * ty - 1 + i;
        for (int j = 0; j < 4; ++j) {
          const int64_t x = 2 * tx - 1 + j;
          d[i * 4 + j] = (y < 0 || y >= h_ || x < 0 || x >= w_)
                             ? zeros_.data()
                             : in + ((b * h_ + y) * w_ + x) * c;
        }
      }
      float* dst = v + t * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        float r[4][4];
        for (int j = 0; j < 4; ++j) {
          const float d0 = d[0 * 4 + j][ch], d1 = d[1 * 4 + j][ch];
          const float d2 = d[2 * 4 + j][ch], d3 = d[3 * 4 + j][ch];
          r[0][j] = d0 - d2;
          r[1][j] = d1 + d2;
          r[2][j] = d2 - d1;
          r[3][j] = d1 - d3;
        }
        for (int i = 0; i < 4; ++i) {
          float* row = dst + i * 4 * plane + ch;
          row[0 * plane] = r[i][0] - r[i][2];
          row[1 * plane] = r[i][1] + r[i][2];
          row[2 * plane] = r[i][2] - r[i][1];
          row[3 * plane] = r[i][1] - r[i][3];
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
  ParallelFor(tiles, [&](int64_t begin, int64_t end) {
    std::vector<float> spill;  // outputs beyond the image's edge
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / tiles_per_image;
      const int64_t ty = (t % tiles_per_image) / tiles_x_;
      const int64_t tx = t % tiles_x_;
      float* y[2][2];
      for (int a = 0; a < 2; ++a) {
        for (int e = 0; e < 2; ++e) {
          const int64_t oy = 2 * ty + a, ox = 2 * tx + e;
          if (oy < h_ && ox < w_) {
            y[a][e] = out + ((b * h_ + oy) * w_ + ox) * c;
          } else {
            spill.resize(static_cast<size_t>(c));
            y[a][e] = spill.data();
          }
        }
      }
      const float* src = m + t * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        float s[2][4];
        for (int j = 0; j < 4; ++j) {
          const float m0 = src[(0 * 4 + j) * plane + ch], m1 = src[(1 * 4 + j) * plane + ch];
          const float m2 = src[(2 * 4 + j) * plane + ch], m3 = src[(3 * 4 + j) * plane + ch];
          s[0][j] = m0 + m1 + m2;
          s[1][j] = m1 - m2 - m3;
        }
        for (int a = 0; a < 2; ++a) {
          y[a][0][ch] = s[a][0] + s[a][1] + s[a][2];
          y[a][1][ch] = s[a][1] - s[a][2] - s[a][3];
        }
      }
    }
  });
}

void Winograd3x3::OutputAdjoint(const float* dy, int64_t n, int64_t c, float* dm) {
  // dM = A dY A^T (dY zero beyond the edge).
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  const int64_t tiles = n * tiles_per_image;
  const int64_t plane = tiles * c;
  ParallelFor(tiles, [&](int64_t begin, int64_t end) {
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
      float* dst = dm + t * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        const float g00 = g[0][0][ch], g01 = g[0][1][ch], g10 = g[1][0][ch], g11 = g[1][1][ch];
        // r = A dY (4x2), A = [1 0; 1 1; 1 -1; 0 -1]; dM = r A^T.
        const float r[4][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11},
                               {-g10, -g11}};
        for (int i = 0; i < 4; ++i) {
          float* row = dst + i * 4 * plane + ch;
          row[0 * plane] = r[i][0];
          row[1 * plane] = r[i][0] + r[i][1];
          row[2 * plane] = r[i][0] - r[i][1];
          row[3 * plane] = -r[i][1];
        }
      }
    }
  });
}

void Winograd3x3::Convolve(const float* in, const std::vector<float>& u, int64_t n,
                           int64_t c_in, int64_t c_out, float* out) {
  const int64_t chunk = ChunkImages(n);
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  v_.resize(static_cast<size_t>(kPoints * chunk * tiles_per_image * c_in));
  m_.resize(static_cast<size_t>(kPoints * chunk * tiles_per_image * c_out));
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t images = std::min(chunk, n - b);
    const int64_t tiles = images * tiles_per_image;
    InputTransform(in + b * h_ * w_ * c_in, images, c_in, v_.data());
    for (int k = 0; k < kPoints; ++k) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tiles, c_out, c_in, 1.0f,
                  v_.data() + k * tiles * c_in, c_in, u.data() + k * c_in * c_out, c_out, 0.0f,
                  m_.data() + k * tiles * c_out, c_out);
    }
    OutputTransform(m_.data(), images, c_out, out + b * h_ * w_ * c_out);
  }
}

void Winograd3x3::Forward(const float* x, const float* weights, int64_t n, float* y) {
  if (n == 0) return;
  TransformWeights(weights, /*flip=*/false, &u_);
  Convolve(x, u_, n, cin_, cout_, y);
}

void Winograd3x3::Backward(const float* x, const float* weights, const float* dy, int64_t n,
                           float* dx, float* dweights) {
  const int64_t pairs = cin_ * cout_;
  if (n == 0) {
    std::fill(dweights, dweights + 9 * pairs, 0.0f);
    return;
  }
  // dU[k] = sum over tiles of V(x)[k]^T dM[k], chunk by chunk.
  const int64_t chunk = ChunkImages(n);
  const int64_t tiles_per_image = tiles_y_ * tiles_x_;
  v_.resize(static_cast<size_t>(kPoints * chunk * tiles_per_image * cin_));
  dm_.resize(static_cast<size_t>(kPoints * chunk * tiles_per_image * cout_));
  du_.resize(static_cast<size_t>(kPoints * pairs));
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t images = std::min(chunk, n - b);
    const int64_t tiles = images * tiles_per_image;
    InputTransform(x + b * h_ * w_ * cin_, images, cin_, v_.data());
    OutputAdjoint(dy + b * h_ * w_ * cout_, images, cout_, dm_.data());
    for (int k = 0; k < kPoints; ++k) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cin_, cout_, tiles, 1.0f,
                  v_.data() + k * tiles * cin_, cin_, dm_.data() + k * tiles * cout_, cout_,
                  b == 0 ? 0.0f : 1.0f, du_.data() + k * pairs, cout_);
    }
  }
  // dg = G^T dU G.
  const float* du = du_.data();
  ParallelFor(pairs, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      float p[3][4];
      for (int j = 0; j < 4; ++j) {
        const float u0 = du[(0 * 4 + j) * pairs + e], u1 = du[(1 * 4 + j) * pairs + e];
        const float u2 = du[(2 * 4 + j) * pairs + e], u3 = du[(3 * 4 + j) * pairs + e];
        p[0][j] = u0 + 0.5f * (u1 + u2);
        p[1][j] = 0.5f * (u1 - u2);
        p[2][j] = 0.5f * (u1 + u2) + u3;
      }
      for (int ky = 0; ky < 3; ++ky) {
        dweights[(ky * 3 + 0) * pairs + e] = p[ky][0] + 0.5f * (p[ky][1] + p[ky][2]);
        dweights[(ky * 3 + 1) * pairs + e] = 0.5f * (p[ky][1] - p[ky][2]);
        dweights[(ky * 3 + 2) * pairs + e] = 0.5f * (p[ky][1] + p[ky][2]) + p[ky][3];
      }
    }
  });
  if (dx == nullptr) return;
  // dx = conv(dy, g turned 180 degrees, channels swapped).
  TransformWeights(weights, /*flip=*/true, &u_);
  Convolve(dy, u_, n, cout_, cin_, dx);
}

}  // namespace tessera
