#ifndef TESSERA_COMMON_CODING_H_
#define TESSERA_COMMON_CODING_H_

// Little-endian fixed-width integers and base-128 varints (protobuf's and
// LevelDB's encoding), the one home for the byte coding of every format we
// write: TFRecord framing, checkpoint records, zip headers, protobuf wire
// fields. Pure functions; thread-safe.
//
// Encode* write to a buffer the caller sizes; Put* append to a string;
// Decode* read a buffer the caller has checked is long enough.

#include <cstddef>
#include <cstdint>
#include <string>

namespace tessera {

// A uint64 varint takes at most this many bytes.
inline constexpr size_t kMaxVarint64Bytes = 10;

void EncodeFixed32(char* dst, uint32_t value);
void EncodeFixed64(char* dst, uint64_t value);
void PutFixed16(std::string* dst, uint16_t value);
void PutFixed32(std::string* dst, uint32_t value);
void PutFixed64(std::string* dst, uint64_t value);
uint32_t DecodeFixed32(const char* src);
uint64_t DecodeFixed64(const char* src);

// Writes `value` as a varint at `dst` (room for kMaxVarint64Bytes) and
// returns the byte after it.
char* EncodeVarint64(char* dst, uint64_t value);
// Reads a varint from [p, limit) into *value and returns the byte after it;
// nullptr when the bytes end before the varint does or it is longer than
// kMaxVarint64Bytes.
const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* value);

}  // namespace tessera

#endif  // TESSERA_COMMON_CODING_H_
