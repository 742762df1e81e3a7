#include "data/image_resizer.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace tessera {
namespace {

// Copies n floats to dst bypassing the cache where dst is 16-byte aligned
// (streaming stores; the caller fences). The output of a resize goes into a
// batch of megabytes that is read only after the whole batch is made, long
// after it left the cache: ordinary stores would first read every line they
// write (read for ownership) and evict the decoder's working set.
void StreamCopy(float* __restrict dst, const float* __restrict src, size_t n) {
  size_t k = 0;
#if defined(__SSE2__)
  if ((reinterpret_cast<uintptr_t>(dst) & 15) == 0) {
    for (; k + 4 <= n; k += 4) _mm_stream_ps(dst + k, _mm_loadu_ps(src + k));
  }
#endif
  for (; k < n; ++k) dst[k] = src[k];
}

// Whether this CPU runs the AVX2 + FMA passes below (every machine of this
// project; the other passes stay for the rest).
bool HaveAvx2Fma() {
#if defined(__x86_64__)
  static const bool have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return have;
#else
  return false;
#endif
}

#if defined(__x86_64__)

// StreamCopy with 32-byte streaming stores (after at most one 16-byte store
// that aligns dst to 32 bytes). Writing the output rows is memory-bound (the
// 16-byte stores were 11% of bench/jpeg_pipeline's time on one core); the
// 32-byte stores were 1-4% faster in 5 of 6 alternating pairs of that benchmark.
__attribute__((target("avx2,fma"))) void StreamCopyAvx2(float* __restrict dst,
                                                        const float* __restrict src, size_t n) {
  size_t k = 0;
  const uintptr_t a = reinterpret_cast<uintptr_t>(dst);
  if ((a & 15) == 0) {
    if ((a & 31) != 0 && n >= 4) {
      _mm_stream_ps(dst, _mm_loadu_ps(src));
      k = 4;
    }
    for (; k + 8 <= n; k += 8) _mm256_stream_ps(dst + k, _mm256_loadu_ps(src + k));
    for (; k + 4 <= n; k += 4) _mm_stream_ps(dst + k, _mm_loadu_ps(src + k));
  }
  for (; k < n; ++k) dst[k] = src[k];
}

// The arrays of one axis's tap table (ImageResizer::Taps).
struct TapArrays {
  int taps;
  const int* first;
  const int* count;
  const float* weights;
};

// Transposes 8 x 8 floats: afterwards r[j] lane i holds what r[i] lane j held.
__attribute__((target("avx2,fma"))) inline void Transpose8(__m256* r) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Both passes of an RGB resize with AVX2, eight output rows at a time.
//
// Vertical: for each group of 8 source values (columns x channels) the 8
// rows' weighted sums are kept in 8 registers over all their taps, then
// transposed and stored so that `t` holds, for each source value v of the
// span, the 8 rows side by side: t[v * 8 + r].
//
// Horizontal: an output pixel's taps are consecutive source pixels, that is
// consecutive 24-float runs of `t` (3 channels x 8 rows): one broadcast weight
// and three FMAs per tap make that pixel for all 8 rows at once. Eight output
// pixels' 24 vectors (lanes = rows) are transposed back into 8 rows of 24
// floats, scaled and biased (not fused: value * scale + bias, as the other
// passes round), and written to `o` (8 rows of out_width x 3 floats), whose
// rows the caller streams out.
//
// Rows past out_height and pixels past out_width in the last groups are made
// from the last row's or pixel's taps and never written.
__attribute__((target("avx2,fma"))) void ResizeRowsRgbAvx2(
    const uint8_t* src, size_t src_stride, int col_lo, int span, const TapArrays& y,
    const TapArrays& x, int row0, int out_height, int out_width, bool flip, const float* scale,
    const float* bias, float* __restrict t, float* __restrict o) {
  const uint8_t* rows[8];
  const float* wy[8];
  int count[8];
  for (int r = 0; r < 8; ++r) {
    const int i = std::min(row0 + r, out_height - 1);
    rows[r] = src + static_cast<size_t>(y.first[i]) * src_stride + col_lo * 3;
    wy[r] = y.weights + static_cast<size_t>(i) * y.taps;
    count[r] = y.count[i];
  }
  int v = 0;
  for (; v + 8 <= span; v += 8) {
    __m256 acc[8];
    for (int r = 0; r < 8; ++r) {
      __m256 a = _mm256_setzero_ps();
      const uint8_t* s = rows[r] + v;
      for (int k = 0; k < count[r]; ++k, s += src_stride) {
        const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s));
        a = _mm256_fmadd_ps(_mm256_broadcast_ss(wy[r] + k),
                            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), a);
      }
      acc[r] = a;
    }
    Transpose8(acc);
    for (int q = 0; q < 8; ++q) _mm256_storeu_ps(t + (v + q) * 8, acc[q]);
  }
  for (; v < span; ++v) {
    for (int r = 0; r < 8; ++r) {
      float a = 0.0f;
      for (int k = 0; k < count[r]; ++k) a += wy[r][k] * rows[r][k * src_stride + v];
      t[v * 8 + r] = a;
    }
  }

  const int rows_out = std::min(8, out_height - row0);
  const size_t row_floats = static_cast<size_t>(out_width) * 3;
  const __m256 scale_c[3] = {_mm256_set1_ps(scale[0]), _mm256_set1_ps(scale[1]),
                             _mm256_set1_ps(scale[2])};
  const __m256 bias_c[3] = {_mm256_set1_ps(bias[0]), _mm256_set1_ps(bias[1]),
                            _mm256_set1_ps(bias[2])};
  for (int p0 = 0; p0 < out_width; p0 += 8) {
    __m256 px[24];  // pixel q's channel c at px[3 * q + c], lanes = rows
    for (int q = 0; q < 8; ++q) {
      const int p = std::min(p0 + q, out_width - 1);
      const int j = flip ? out_width - 1 - p : p;
      const float* tk = t + static_cast<size_t>(x.first[j] - col_lo) * 24;
      const float* w = x.weights + static_cast<size_t>(j) * x.taps;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps();
      for (int k = 0; k < x.count[j]; ++k, tk += 24) {
        const __m256 wk = _mm256_broadcast_ss(w + k);
        a0 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(tk), a0);
        a1 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(tk + 8), a1);
        a2 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(tk + 16), a2);
      }
      px[3 * q] = _mm256_add_ps(_mm256_mul_ps(a0, scale_c[0]), bias_c[0]);
      px[3 * q + 1] = _mm256_add_ps(_mm256_mul_ps(a1, scale_c[1]), bias_c[1]);
      px[3 * q + 2] = _mm256_add_ps(_mm256_mul_ps(a2, scale_c[2]), bias_c[2]);
    }
    // px[8 g + r] becomes row r's floats [8 g, 8 g + 8) of these 8 pixels.
    Transpose8(px);
    Transpose8(px + 8);
    Transpose8(px + 16);
    const int floats = std::min(8, out_width - p0) * 3;
    for (int r = 0; r < rows_out; ++r) {
      float* d = o + r * row_floats + p0 * 3;
      if (floats == 24) {
        _mm256_storeu_ps(d, px[r]);
        _mm256_storeu_ps(d + 8, px[8 + r]);
        _mm256_storeu_ps(d + 16, px[16 + r]);
      } else {
        alignas(32) float last[24];
        _mm256_store_ps(last, px[r]);
        _mm256_store_ps(last + 8, px[8 + r]);
        _mm256_store_ps(last + 16, px[16 + r]);
        std::copy(last, last + floats, d);
      }
    }
  }
}
#endif  // __x86_64__

}  // namespace

void ImageResizer::BuildTaps(double start, double extent, int size, int out,
                             Taps* t) {
  const double ratio = extent / out;  // source pixels per output pixel
  const double radius = std::max(1.0, ratio);
  // The whole pixels covering [start, start + extent): the only ones used.
  const int lo = std::clamp(static_cast<int>(std::floor(start)), 0, size - 1);
  const int hi = std::clamp(static_cast<int>(std::ceil(start + extent)), lo + 1, size);
  t->taps = static_cast<int>(std::ceil(2 * radius)) + 1;
  t->first.resize(out);
  t->count.resize(out);
  t->weights.assign(static_cast<size_t>(out) * t->taps, 0.0f);
  for (int i = 0; i < out; ++i) {
    const double center = start + (i + 0.5) * ratio;  // continuous coordinate
    // Pixels s whose centre s + 0.5 lies within `radius` of the sample.
    const int first = std::max(lo, static_cast<int>(std::ceil(center - radius - 0.5)));
    const int last =
        std::min(hi - 1, static_cast<int>(std::floor(center + radius - 0.5)));
    float* w = &t->weights[static_cast<size_t>(i) * t->taps];
    double sum = 0;
    int n = 0;
    for (int s = first; s <= last && n < t->taps; ++s, ++n) {
      const double d = std::abs(s + 0.5 - center) / radius;
      const double weight = d < 1.0 ? 1.0 - d : 0.0;
      w[n] = static_cast<float>(weight);
      sum += weight;
    }
    if (sum <= 0) {  // the centre is outside [lo, hi): nearest covering pixel
      const int nearest = std::clamp(static_cast<int>(std::floor(center)), lo, hi - 1);
      t->first[i] = nearest;
      t->count[i] = 1;
      std::fill(w, w + t->taps, 0.0f);
      w[0] = 1.0f;
      continue;
    }
    t->first[i] = first;
    t->count[i] = n;
    for (int k = 0; k < n; ++k) w[k] = static_cast<float>(w[k] / sum);
  }
}

// RGB on a CPU with AVX2 and FMA (every machine of this project) goes to
// ResizeRowsRgbAvx2; grey images and other CPUs take the passes below.
// Compiled twice, for AVX2 and for the build's baseline (x86-64-v2); the loader
// picks the AVX2 copy on CPUs that have it, where the vertical pass runs 8
// floats at a time.
// Compiled once with clang 14 (--config=fuzz), which emits no resolver for a
// member function's clones, and under ThreadSanitizer, whose instrumented
// resolver would run before the TSan runtime is up (the loader crashes).
#if defined(__clang__) || defined(TESSERA_THREAD_SANITIZER)
#define TESSERA_RESIZE_CLONES
#else
#define TESSERA_RESIZE_CLONES __attribute__((target_clones("avx2", "default")))
#endif
TESSERA_RESIZE_CLONES
void ImageResizer::Resize(const uint8_t* src, int src_height, int src_width,
                          int channels, const SourceRect& rect, int out_height,
                          int out_width, bool flip, const float* scale,
                          const float* bias, float* out) {
  BuildTaps(rect.x, rect.width, src_width, out_width, &x_taps_);
  BuildTaps(rect.y, rect.height, src_height, out_height, &y_taps_);
  // Columns any x tap reads.
  int col_lo = src_width, col_hi = 0;
  for (int j = 0; j < out_width; ++j) {
    col_lo = std::min(col_lo, x_taps_.first[j]);
    col_hi = std::max(col_hi, x_taps_.first[j] + x_taps_.count[j]);
  }
  const int span = (col_hi - col_lo) * channels;
  const size_t src_stride = static_cast<size_t>(src_width) * channels;
  // Locals, so that stores to `out` (which might alias anything to the
  // compiler) do not force reloads in the inner loops.
  const int x_taps = x_taps_.taps, y_taps = y_taps_.taps;
  const int* const x_first = x_taps_.first.data();
  const int* const x_count = x_taps_.count.data();
  const float* const x_weights = x_taps_.weights.data();
  const float s0 = scale[0], s1 = channels > 1 ? scale[1] : 0,
              s2 = channels > 2 ? scale[2] : 0;
  const float b0 = bias[0], b1 = channels > 1 ? bias[1] : 0,
              b2 = channels > 2 ? bias[2] : 0;
#if defined(__SSE2__)
  const __m128 scale4 = _mm_setr_ps(s0, s1, s2, 0.0f);
  const __m128 bias4 = _mm_setr_ps(b0, b1, b2, 0.0f);
#endif
  const size_t out_row_floats = static_cast<size_t>(out_width) * channels;
#if defined(__x86_64__)
  if (channels == 3 && HaveAvx2Fma()) {
    row_.resize(static_cast<size_t>(span) * 8);
    out_row_.resize(8 * out_row_floats);
    const TapArrays y{y_taps, y_taps_.first.data(), y_taps_.count.data(), y_taps_.weights.data()};
    const TapArrays x{x_taps, x_first, x_count, x_weights};
    for (int i = 0; i < out_height; i += 8) {
      ResizeRowsRgbAvx2(src, src_stride, col_lo, span, y, x, i, out_height, out_width, flip, scale,
                        bias, row_.data(), out_row_.data());
      for (int r = 0; r < std::min(8, out_height - i); ++r) {
        StreamCopyAvx2(out + (i + r) * out_row_floats, out_row_.data() + r * out_row_floats,
                       out_row_floats);
      }
    }
    _mm_sfence();
    return;
  }
#endif
  row_.resize(span + 1);  // + 1: the horizontal pass loads 4 floats per RGB pixel
  row_[span] = 0.0f;
  float* __restrict row = row_.data();
  out_row_.resize(out_row_floats);
  float* __restrict o = out_row_.data();
  for (int i = 0; i < out_height; ++i) {
    // Vertical pass: row = weighted sum of the source rows of output row i.
    const float* wy = &y_taps_.weights[static_cast<size_t>(i) * y_taps];
    const uint8_t* src0 = src + y_taps_.first[i] * src_stride + col_lo * channels;
    const int y_count = y_taps_.count[i];
    for (int v = 0; v < span; ++v) row[v] = wy[0] * src0[v];
    for (int k = 1; k < y_count; ++k) {
      const uint8_t* __restrict s = src0 + k * src_stride;
      const float w = wy[k];
      for (int v = 0; v < span; ++v) row[v] += w * s[v];
    }
    // Horizontal pass, normalization and flip, into o (in the cache), then
    // streamed out.
    for (int j = 0; j < out_width; ++j) {
      const float* wx = x_weights + static_cast<size_t>(j) * x_taps;
      const float* r = row + (x_first[j] - col_lo) * channels;
      float* d = o + (flip ? out_width - 1 - j : j) * channels;
      const int n = x_count[j];
      if (channels == 3) {
#if defined(__SSE2__)
        // One unaligned 4-float load per tap (R, G, B and the next pixel's R,
        // whose lane is dropped; row_ has a spare float at its end).
        __m128 acc = _mm_setzero_ps();
        for (int k = 0; k < n; ++k) {
          acc = _mm_add_ps(acc, _mm_mul_ps(_mm_set1_ps(wx[k]), _mm_loadu_ps(r + 3 * k)));
        }
        alignas(16) float a[4];
        _mm_store_ps(a, _mm_add_ps(_mm_mul_ps(acc, scale4), bias4));
        d[0] = a[0];
        d[1] = a[1];
        d[2] = a[2];
#else
        float a0 = 0, a1 = 0, a2 = 0;
        for (int k = 0; k < n; ++k) {
          a0 += wx[k] * r[3 * k];
          a1 += wx[k] * r[3 * k + 1];
          a2 += wx[k] * r[3 * k + 2];
        }
        d[0] = a0 * s0 + b0;
        d[1] = a1 * s1 + b1;
        d[2] = a2 * s2 + b2;
#endif
        continue;
      }
      for (int c = 0; c < channels; ++c) {
        float acc = 0.0f;
        for (int k = 0; k < n; ++k) acc += wx[k] * r[k * channels + c];
        d[c] = acc * scale[c] + bias[c];
      }
    }
    StreamCopy(out + i * out_row_floats, o, out_row_floats);
  }
#if defined(__SSE2__)
  _mm_sfence();  // the streamed rows are visible before the caller hands `out` on
#endif
}

}  // namespace tessera
