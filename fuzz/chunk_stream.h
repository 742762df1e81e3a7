#ifndef TESSERA_FUZZ_CHUNK_STREAM_H_
#define TESSERA_FUZZ_CHUNK_STREAM_H_

// The wire messages of a chunk stream (protos/ps_service.proto, TensorChunk)
// carved out of a fuzz input, as gRPC would hand them over: each a
// grpc::ByteBuffer of one or more slices, so that varints and fields straddle
// slice boundaries as they do off the network.
//
// Input format, repeated: a control byte, a 3-byte length (little-endian: a
// chunk of PushSession::kPieceElements floats or more exceeds 64 KiB), that
// many bytes.
// Control bits 0-1: the message is cut into 1-4 slices of near-equal size;
// bit 2: an empty slice goes first; bits 5-7 are the caller's (e.g. "end the
// stream here").

#include <cstdint>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace tessera {
namespace fuzz {

struct WireMessage {
  uint8_t control = 0;
  grpc::ByteBuffer buffer;
};

// The next message, or false at the end of the input.
inline bool NextWireMessage(FuzzInput* input, WireMessage* message) {
  if (input->empty()) return false;
  message->control = input->Byte();
  const size_t length = input->U16() | static_cast<size_t>(input->Byte()) << 16;
  const absl::string_view bytes = input->Bytes(length);
  const size_t pieces = 1 + (message->control & 3);
  std::vector<grpc::Slice> slices;
  if (message->control & 4) slices.emplace_back();
  for (size_t i = 0; i < pieces; ++i) {
    const size_t begin = bytes.size() * i / pieces, end = bytes.size() * (i + 1) / pieces;
    slices.emplace_back(bytes.data() + begin, end - begin);
  }
  message->buffer = grpc::ByteBuffer(slices.data(), slices.size());
  return true;
}

}  // namespace fuzz
}  // namespace tessera

#endif  // TESSERA_FUZZ_CHUNK_STREAM_H_
