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

// The vertical pass with AVX2: row[v] = sum over k < count of w[k] *
// src0[k * stride + v], 16 values at a time, each sum kept in registers over
// all its taps (the source bytes are read once per output row, the row
// written once).
__attribute__((target("avx2,fma"))) void VerticalPassAvx2(const uint8_t* src0, size_t stride,
                                                          const float* w, int count, int span,
                                                          float* __restrict row) {
  int v = 0;
  for (; v + 16 <= span; v += 16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    const uint8_t* s = src0 + v;
    for (int k = 0; k < count; ++k, s += stride) {
      const __m256 wk = _mm256_set1_ps(w[k]);
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
      a0 = _mm256_fmadd_ps(wk, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), a0);
      a1 = _mm256_fmadd_ps(wk, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8))),
                           a1);
    }
    _mm256_storeu_ps(row + v, a0);
    _mm256_storeu_ps(row + v + 8, a1);
  }
  for (; v + 8 <= span; v += 8) {
    __m256 a = _mm256_setzero_ps();
    const uint8_t* s = src0 + v;
    for (int k = 0; k < count; ++k, s += stride) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s));
      a = _mm256_fmadd_ps(_mm256_set1_ps(w[k]), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)), a);
    }
    _mm256_storeu_ps(row + v, a);
  }
  for (; v < span; ++v) {
    float a = 0.0f;
    for (int k = 0; k < count; ++k) a += w[k] * src0[k * stride + v];
    row[v] = a;
  }
}

// The horizontal pass of an RGB row with AVX2, two output pixels at a time,
// each in one 128-bit half (R, G, B and a spare lane): output position p holds
// source pixel j(p) = p, or out_width - 1 - p when flipped. Each position's
// 4-float store spills one float into the next position, which is written
// after it; `o` has one spare float at its end. A pixel with fewer taps than
// its partner runs the partner's count: its extra weights are zero (BuildTaps
// pads them) and its extra reads stay within the partner's pixels (tap starts
// rise with j), so nothing changes.
__attribute__((target("avx2,fma"))) void HorizontalRgbAvx2(const float* row, int col_lo,
                                                           const int* first, const int* count,
                                                           const float* weights, int taps,
                                                           int out_width, bool flip,
                                                           const float* scale, const float* bias,
                                                           float* __restrict o) {
  const __m128 scale4 = _mm_setr_ps(scale[0], scale[1], scale[2], 0.0f);
  const __m128 bias4 = _mm_setr_ps(bias[0], bias[1], bias[2], 0.0f);
  const __m256 scale8 = _mm256_set_m128(scale4, scale4);
  const __m256 bias8 = _mm256_set_m128(bias4, bias4);
  int p = 0;
  for (; p + 2 <= out_width; p += 2) {
    const int j0 = flip ? out_width - 1 - p : p;
    const int j1 = flip ? j0 - 1 : j0 + 1;
    const float* r0 = row + (first[j0] - col_lo) * 3;
    const float* r1 = row + (first[j1] - col_lo) * 3;
    const float* w0 = weights + static_cast<size_t>(j0) * taps;
    const float* w1 = weights + static_cast<size_t>(j1) * taps;
    const int n = std::max(count[j0], count[j1]);
    __m256 acc = _mm256_setzero_ps();
    for (int k = 0; k < n; ++k) {
      const __m256 v = _mm256_set_m128(_mm_loadu_ps(r1 + 3 * k), _mm_loadu_ps(r0 + 3 * k));
      const __m256 w = _mm256_set_m128(_mm_set1_ps(w1[k]), _mm_set1_ps(w0[k]));
      acc = _mm256_fmadd_ps(w, v, acc);
    }
    // Not fused: the same rounding as value * scale + bias of the other passes.
    const __m256 out = _mm256_add_ps(_mm256_mul_ps(acc, scale8), bias8);
    _mm_storeu_ps(o + 3 * p, _mm256_castps256_ps128(out));
    _mm_storeu_ps(o + 3 * p + 3, _mm256_extractf128_ps(out, 1));
  }
  if (p < out_width) {
    const int j = flip ? out_width - 1 - p : p;
    const float* r = row + (first[j] - col_lo) * 3;
    const float* w = weights + static_cast<size_t>(j) * taps;
    __m128 acc = _mm_setzero_ps();
    for (int k = 0; k < count[j]; ++k) {
      acc = _mm_fmadd_ps(_mm_set1_ps(w[k]), _mm_loadu_ps(r + 3 * k), acc);
    }
    _mm_storeu_ps(o + 3 * p, _mm_add_ps(_mm_mul_ps(acc, scale4), bias4));
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

// Compiled twice, for AVX2 and for the build's baseline (x86-64-v2); the loader
// picks the AVX2 copy on CPUs that have it (all of this project's machines), where
// the vertical pass runs 8 floats at a time. About 10% of the training path.
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
  // Spare floats after the span, zero (finite): the horizontal passes load 4
  // floats per RGB pixel, and the AVX2 one up to x_taps pixels more with zero
  // weights.
  const size_t spare = 3 * static_cast<size_t>(x_taps_.taps) + 4;
  row_.resize(span + spare);
  std::fill(row_.begin() + span, row_.end(), 0.0f);
  float* __restrict row = row_.data();
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
  out_row_.resize(out_row_floats + 1);  // + 1: the AVX2 pass's last spilled float
  float* __restrict o = out_row_.data();
  const bool avx2 = HaveAvx2Fma();
  for (int i = 0; i < out_height; ++i) {
    // Vertical pass: row = weighted sum of the source rows of output row i.
    const float* wy = &y_taps_.weights[static_cast<size_t>(i) * y_taps];
    const uint8_t* src0 = src + y_taps_.first[i] * src_stride + col_lo * channels;
    const int y_count = y_taps_.count[i];
#if defined(__x86_64__)
    if (avx2 && channels == 3) {
      VerticalPassAvx2(src0, src_stride, wy, y_count, span, row);
      HorizontalRgbAvx2(row, col_lo, x_first, x_count, x_weights, x_taps, out_width, flip, scale,
                        bias, o);
      StreamCopy(out + i * out_row_floats, o, out_row_floats);
      continue;
    }
#endif
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
