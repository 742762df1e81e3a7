#ifndef TESSERA_COMMON_RPC_CHUNK_SIZES_H_
#define TESSERA_COMMON_RPC_CHUNK_SIZES_H_

// Sizes of the TensorChunks of Pull, Push and Snapshot (protos/ps_service.proto),
// shared by the wire coding (common/rpc/chunk_coding.h) and the ps's store, which
// validates chunks and keeps block values in pieces of one stream chunk
// (ps/block_values.h). No gRPC dependency.

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "protos/ps_service.pb.h"

namespace tessera {

// Largest payload of one chunk: 4 MiB, 1M float32 elements.
inline constexpr int64_t kMaxChunkBytes = int64_t{4} << 20;
inline constexpr int64_t kMaxChunkElements = kMaxChunkBytes / 4;
// The payload Tessera's own client (Push) and ps (Pull) put in a chunk: 1 MiB,
// so that the receiver applies or copies one chunk while the next is in
// flight. With 4 MiB chunks the two cores took turns: bench/ps_transport's
// 4 MiB push + pull gained 10-20% at 1 MiB (512 KiB and 2 MiB did no better).
inline constexpr int64_t kStreamChunkBytes = int64_t{1} << 20;
inline constexpr int64_t kStreamChunkElements = kStreamChunkBytes / 4;

// Bytes per element of a chunk in `encoding`: 4 (FLOAT32), 2 (BFLOAT16), 0
// for a value this build does not know.
inline int ElementBytes(TensorEncoding encoding) {
  switch (encoding) {
    case FLOAT32:
      return 4;
    case BFLOAT16:
      return 2;
    default:
      return 0;
  }
}

// The end of an error about an encoding ElementBytes does not know:
// "unknown tensor encoding 7 (known: FLOAT32, BFLOAT16)".
inline std::string UnknownEncoding(TensorEncoding encoding) {
  return absl::StrCat("unknown tensor encoding ", static_cast<int>(encoding),
                      " (known: FLOAT32, BFLOAT16)");
}

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_CHUNK_SIZES_H_
