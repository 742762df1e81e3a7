#ifndef TESSERA_WORKER_ANSWER_ASSEMBLER_H_
#define TESSERA_WORKER_ANSWER_ASSEMBLER_H_

// The chunks of a Pull or Snapshot answer (protos/ps_service.proto) copied
// into the caller's tensors and checked, whatever carried them: the gRPC
// client (worker/ps_client.cc) and the in-memory ps of the tests
// (test/in_memory_ps.h) feed the same assemblers, so both check alike.
//
// A chunk at offset 0 starts the next tensor (block, slot); every other chunk
// must continue the tensor in progress and fit it. A chunk's payload is
// copied by the caller's `copy` into the place the assembler gives, once.
// Errors are INTERNAL naming the RPC and the block. Not thread-safe.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "protos/ps_service.pb.h"
#include "worker/ps_connection.h"

namespace tessera {

// Copies a chunk's payload (payload_bytes, whole elements in the header's
// encoding) to `destination`, decoded to float32.
using ChunkCopy = absl::FunctionRef<void(float* destination)>;

class TensorReceiver {
 public:
  // Where the tensor a chunk at offset 0 starts goes, or an error ending the answer.
  using Start = std::function<absl::StatusOr<absl::Span<float>>(const ChunkHeader&)>;
  TensorReceiver(const char* rpc, Start start) : rpc_(rpc), start_(std::move(start)) {}

  absl::Status Add(const ChunkHeader& header, int64_t payload_bytes, ChunkCopy copy);
  // OK when the tensor in progress (if any) is complete.
  absl::Status Finish() const;
  // True when the last Add completed its tensor.
  bool complete() const {
    return tensors_ > 0 && offset_ == static_cast<int64_t>(destination_.size());
  }
  int64_t tensors() const { return tensors_; }

 private:
  const char* const rpc_;
  const Start start_;
  std::string block_;  // tensor in progress: block and slot
  std::string slot_;
  absl::Span<float> destination_;
  int64_t offset_ = 0;  // elements of it received
  int64_t tensors_ = 0;
};

// A Pull answer into `destinations` (borrowed; one per requested block, in
// order), with the oldest version of each block, the global step and the
// incarnation. `arrived` (optional, borrowed) is called with a block's index
// by the Add that completes it.
class PullAssembler {
 public:
  PullAssembler(const PullRequest& request, absl::Span<const absl::Span<float>> destinations,
                const PsConnection::BlockArrived* arrived = nullptr);
  absl::Status Add(const ChunkHeader& header, int64_t payload_bytes, ChunkCopy copy);
  // A chunk whose payload is in the pull's shared segment (header.segment()
  // != 0; docs/protocol.md, "Shared memory"): bytes [segment_offset, +
  // segment_bytes) of the segment of id `segment` at [data, data + size)
  // (0, null, 0: the pull named none). INTERNAL naming the block when the
  // chunk names another segment, also carries `message_payload_bytes` of
  // data, is not FLOAT32, or its range is not inside the segment; else Add.
  // `in_place`: the destinations lie in that segment and the pull asked for
  // each block at its own place (PullRequest.segment_offsets), so the chunk
  // is already there; one found elsewhere is copied and then INTERNAL.
  absl::Status AddFromSegment(const ChunkHeader& header, size_t message_payload_bytes,
                              uint64_t segment, const char* data, size_t size,
                              bool in_place = false);
  // The result once the answer ended; an error if a block is missing or short.
  absl::StatusOr<PsConnection::PullResult> Finish() const;

 private:
  const PullRequest& request_;
  const absl::Span<const absl::Span<float>> destinations_;
  const PsConnection::BlockArrived* const arrived_;
  TensorReceiver receiver_;
  PsConnection::PullResult result_;
};

// A Snapshot answer into the spans `sink` gives (borrowed).
class SnapshotAssembler {
 public:
  explicit SnapshotAssembler(const PsConnection::SnapshotSink& sink);
  absl::Status Add(const ChunkHeader& header, int64_t payload_bytes, ChunkCopy copy);
  absl::StatusOr<PsConnection::SnapshotResult> Finish() const;

 private:
  TensorReceiver receiver_;
  PsConnection::SnapshotResult result_;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_ANSWER_ASSEMBLER_H_
