#ifndef TESSERA_COMMON_BFLOAT16_H_
#define TESSERA_COMMON_BFLOAT16_H_

// bfloat16: the high 16 bits of an IEEE float32 (sign, the 8 exponent bits,
// 7 of the 23 fraction bits), as TensorFlow and PyTorch define it. Used on
// the wire when a job asks for it (TensorEncoding BFLOAT16,
// protos/ps_service.proto): half the bytes of float32, the same range, 8
// significant bits.
//
// Rounding is to nearest, ties to even; infinities stay infinities, a NaN
// stays a NaN (made quiet); float32 subnormals round like the others (the
// format has them too). Widening back is exact.
//
//   std::vector<uint16_t> wire(n);
//   FloatsToBfloat16(values, wire.data());
//   Bfloat16ToFloats(wire.data(), n, out);
//
// Thread-safe (no state).

#include <cstdint>
#include <cstring>

#include "absl/types/span.h"

namespace tessera {

inline uint16_t FloatToBfloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1);  // to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

inline float Bfloat16ToFloat(uint16_t value) {
  const uint32_t bits = static_cast<uint32_t>(value) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

// out[i] = FloatToBfloat16(in[i]) for every element of `in`.
void FloatsToBfloat16(absl::Span<const float> in, uint16_t* out);
// out[i] = Bfloat16ToFloat(in[i]) for i < n.
void Bfloat16ToFloats(const uint16_t* in, int64_t n, float* out);
// Rounds `values` to the nearest bfloat16 in place (what a float32 value
// becomes after a trip through the wire).
void RoundToBfloat16(absl::Span<float> values);

}  // namespace tessera

#endif  // TESSERA_COMMON_BFLOAT16_H_
