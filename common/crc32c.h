#ifndef TESSERA_COMMON_CRC32C_H_
#define TESSERA_COMMON_CRC32C_H_

// CRC-32C (Castagnoli), as TFRecord and TensorFlow checkpoints use it, with
// TensorFlow's masking for CRCs stored beside the data they cover.
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise.
// All functions are pure and thread-safe.

#include <cstddef>
#include <cstdint>

namespace tessera {
namespace crc32c {

// CRC of data[0, n) continuing from `crc` (the CRC of the preceding bytes).
uint32_t Extend(uint32_t crc, const void* data, size_t n);

inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// Masked form stored on disk: rotate right by 15 bits and add a constant, so a
// CRC of data that itself holds CRCs is not degenerate.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

// The same computation without hardware help; exposed for tests.
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n);

}  // namespace crc32c
}  // namespace tessera

#endif  // TESSERA_COMMON_CRC32C_H_
