#include "common/bfloat16.h"

#include "common/simd_clones.h"

namespace tessera {

// Written as plain loops over the inline conversions: GCC vectorizes them (8
// or 4 elements per instruction), and the wire's conversions are memory-bound.

TESSERA_SIMD_CLONES void FloatsToBfloat16(absl::Span<const float> in, uint16_t* out) {
  const float* __restrict from = in.data();
  uint16_t* __restrict to = out;
  const int64_t n = static_cast<int64_t>(in.size());
  for (int64_t i = 0; i < n; ++i) to[i] = FloatToBfloat16(from[i]);
}

TESSERA_SIMD_CLONES void Bfloat16ToFloats(const uint16_t* in, int64_t n, float* out) {
  const uint16_t* __restrict from = in;
  float* __restrict to = out;
  for (int64_t i = 0; i < n; ++i) to[i] = Bfloat16ToFloat(from[i]);
}

TESSERA_SIMD_CLONES void RoundToBfloat16(absl::Span<float> values) {
  float* __restrict v = values.data();
  const int64_t n = static_cast<int64_t>(values.size());
  for (int64_t i = 0; i < n; ++i) v[i] = Bfloat16ToFloat(FloatToBfloat16(v[i]));
}

}  // namespace tessera
