#ifndef TESSERA_COMMON_RPC_CHUNK_CODING_H_
#define TESSERA_COMMON_RPC_CHUNK_CODING_H_

// Wire coding of `TensorChunk` (protos/ps_service.proto) for the tensor fast
// path of DESIGN.md (Performance facts): a chunk goes out as one
// grpc::ByteBuffer of two slices, a small one holding the serialized header
// and the tag and length of `data`, and one that points at the tensor's own
// memory (no copy); a received chunk is parsed in place and its payload copied
// once, straight to where it belongs. The bytes are an ordinary protobuf
// TensorChunk either way, so any protobuf implementation interoperates.
//
//   PayloadTracker tracker;
//   grpc::ByteBuffer out = EncodeChunk(header, grad.data(), grad.size() * 4, &tracker);
//   ... write `out` on a call ...
//   tracker.WaitForRelease();  // before `grad` may change
//
//   ChunkHeader header;
//   ChunkView view;
//   RETURN_IF_ERROR(ParseChunk(received, &header, &view));
//   view.CopyFloats(0, view.elements(), destination);
//
// A chunk whose header says encoding BFLOAT16 carries 2 bytes per element
// (common/bfloat16.h): EncodeBfloat16Chunk converts as it encodes, and
// ChunkView::CopyFloats widens as it copies.
//
// Free functions are thread-safe; the classes say what they allow.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/rpc/chunk_sizes.h"
#include "common/rpc/payload_owner.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/slice.h"
#include "protos/ps_service.pb.h"

namespace tessera {

// Largest gRPC message either side accepts: far above a chunk, so that an
// oversized chunk reaches the ps's own validation and gets a clear error.
inline constexpr int kMaxMessageBytes = 64 << 20;

// Channel arguments of the fast path (TCP read chunk sizes 1/1/4 MiB, message
// size limits) for clients and servers. With 1 MiB chunks (kStreamChunkBytes),
// 1-4 MiB reads were as fast as 4-16 MiB ones and hold less memory.
void SetTransportChannelArgs(grpc::ChannelArguments* args);
void SetTransportServerArgs(grpc::ServerBuilder* builder);


// A PayloadOwner for borrowed memory: counts the slices gRPC still holds, and
// WaitForRelease() blocks until there are none. Thread-safe. Destroy it only
// after WaitForRelease() returned (the destructor waits too).
class PayloadTracker final : public PayloadOwner {
 public:
  PayloadTracker() = default;
  PayloadTracker(const PayloadTracker&) = delete;
  PayloadTracker& operator=(const PayloadTracker&) = delete;
  ~PayloadTracker();

  void Ref() override;
  void Unref() override;
  void WaitForRelease();

 private:
  absl::Mutex mu_;
  int64_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
};

// Payloads up to this size are copied into the header slice instead.
inline constexpr size_t kZeroCopyMinBytes = 1024;

// Encodes TensorChunk{header, data = payload[0, bytes)}. A payload of at least
// kZeroCopyMinBytes is not copied: the buffer refers to it, and it must stay
// valid and unchanged until `owner` has been Unref'ed for it. `owner` may be
// null only when bytes < kZeroCopyMinBytes or the caller otherwise guarantees
// the memory outlives every gRPC reference (e.g. static data in tests).
grpc::ByteBuffer EncodeChunk(const ChunkHeader& header, const void* payload, size_t bytes,
                             PayloadOwner* owner);

// Encodes TensorChunk{header, data = `values` rounded to bfloat16}; requires
// header.encoding() == BFLOAT16. The converted payload is a buffer of its
// own that gRPC frees, so `values` may change as soon as this returns.
grpc::ByteBuffer EncodeBfloat16Chunk(const ChunkHeader& header, absl::Span<const float> values);

// The payload of a parsed chunk, still in the received buffer's slices (which
// it holds a reference to). Copyable only by parsing again; not thread-safe.
class ChunkView {
 public:
  ChunkView() = default;
  ChunkView(const ChunkView&) = delete;
  ChunkView& operator=(const ChunkView&) = delete;

  size_t payload_bytes() const { return payload_bytes_; }
  // The encoding the chunk's header gave (ParseChunk checked it is known).
  TensorEncoding encoding() const { return encoding_; }
  // Whole elements in the payload.
  int64_t elements() const {
    return static_cast<int64_t>(payload_bytes_) / ElementBytes(encoding_);
  }
  // Decodes elements [begin, begin + count) to float32 at `out`; the range
  // must lie within elements().
  void CopyFloats(int64_t begin, int64_t count, float* out) const;
  // Copies the payload_bytes() bytes of the payload to `destination`.
  void CopyPayloadTo(void* destination) const;
  // Copies payload bytes [begin, begin + bytes) to `destination`; the range
  // must lie within the payload.
  void CopyPayloadRange(size_t begin, size_t bytes, void* destination) const;

 private:
  friend absl::Status ParseChunk(const grpc::ByteBuffer& buffer, ChunkHeader* header,
                                 ChunkView* view);
  std::vector<grpc::Slice> slices_;
  size_t first_slice_ = 0;   // slice where the payload starts
  size_t first_offset_ = 0;  // byte offset in that slice
  size_t payload_bytes_ = 0;
  TensorEncoding encoding_ = FLOAT32;
};

// Parses a serialized TensorChunk in `buffer` (fields in any order; unknown
// fields skipped, as protobuf does). The header is parsed into *header; the
// payload stays in place for view->CopyFloats. INVALID_ARGUMENT for
// malformed bytes and for an encoding this build does not know.
absl::Status ParseChunk(const grpc::ByteBuffer& buffer, ChunkHeader* header, ChunkView* view);

// A small message (requests, responses) to and from a ByteBuffer. Parse
// failures are INVALID_ARGUMENT naming `what`.
grpc::ByteBuffer SerializeToByteBuffer(const google::protobuf::MessageLite& message);
absl::Status ParseFromByteBuffer(const grpc::ByteBuffer& buffer, google::protobuf::MessageLite* message,
                                 const char* what);

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_CHUNK_CODING_H_
