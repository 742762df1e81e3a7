#ifndef TESSERA_COMMON_RPC_SHARED_SEGMENT_H_
#define TESSERA_COMMON_RPC_SHARED_SEGMENT_H_

// Shared memory between a worker and a ps of one host (docs/protocol.md,
// "Shared memory"): the tensors of Push and Pull go through a memory segment
// both map, and the gRPC stream carries only the chunk headers, which say
// where in the segment each payload is. The bytes then cross between the
// processes by one memcpy on each side instead of through the socket's
// kernel buffers and gRPC's framing.
//
// The worker makes the segment (SharedSegment::Create): an anonymous memory
// file (memfd) sealed against shrinking, so the ps can never touch a page
// that is gone (no SIGBUS), mapped by both. It hands the file to the ps over
// the ps's segment socket, DIR/psT-P.shm.sock beside the local gRPC socket
// (SegmentSocketPath), by SCM_RIGHTS; the ps (SegmentServer,
// common/rpc/segment_server.h) checks the sender's uid (SO_PEERCRED: only
// its own user's processes, who can enter DIR anyway), the seal and the size,
// maps it, and answers a random 64-bit id that the worker's Push and Pull
// calls name. The registration lasts as long as that socket connection: a
// worker that exits or drops its segment closes it, and the ps unmaps the
// segment once no call uses it any more.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tessera {

// The segment socket beside local gRPC socket `local_socket` ("DIR/ps0-2222.sock"
// -> "DIR/ps0-2222.shm.sock"); "" for "".
std::string SegmentSocketPath(const std::string& local_socket);

// The fixed-size messages of the segment socket (SOCK_SEQPACKET: each
// arrives whole or not at all). Registration: the request with the memfd as
// SCM_RIGHTS; the answer with id != 0, or id 0 and a NUL-terminated error.
struct SegmentRequest {
  uint32_t magic = 0;  // kSegmentMagic
  int32_t worker_task = 0;
  uint64_t bytes = 0;  // the segment's size, as the file says (checked)
};
struct SegmentAnswer {
  uint64_t id = 0;
  char error[240] = {};
};
inline constexpr uint32_t kSegmentMagic = 0x31475354;  // "TSG1"

// OK when bytes [offset, offset + bytes) lie inside a segment of `size`
// bytes; INVALID_ARGUMENT naming `what`, the range and the size otherwise
// (negative, past the end, or overflowing).
absl::Status CheckSegmentRange(size_t size, int64_t offset, int64_t bytes, const char* what);

// Memory this process makes to share with the ps of its host: a memfd of a
// fixed size (sealed against shrinking and growing), mapped readable and
// writable, its pages zero at first. It may be registered with several ps
// (SharedSegment::Register); it lives as long as its last holder.
// Thread-safe (immutable; the bytes are the protocol's business).
class SharedMemory {
 public:
  // `bytes` > 0; errors (INVALID_ARGUMENT, INTERNAL for a failed system
  // call) start with `what`.
  static absl::StatusOr<std::shared_ptr<SharedMemory>> Create(size_t bytes, absl::string_view what);
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  char* data() const { return data_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  // The offset of bytes [p, p + bytes) in this memory, or -1 when they do
  // not all lie inside it.
  int64_t OffsetOf(const void* p, size_t bytes) const;

 private:
  SharedMemory(int fd, char* data, size_t size) : fd_(fd), data_(data), size_(size) {}

  const int fd_;  // kept open for further registrations
  char* const data_;
  const size_t size_;
};

// Shared memory registered with one ps (the worker's side): the memory and
// the registration's connection; destroying it ends the registration (the
// memory lives on while others hold it). The Push/Pull protocol says when the
// ps reads or writes which bytes. Thread-compatible.
class SharedSegment {
 public:
  // Makes shared memory of `bytes` (> 0) and registers it (Register).
  static absl::StatusOr<std::unique_ptr<SharedSegment>> Create(const std::string& socket_path,
                                                               size_t bytes, int32_t worker_task,
                                                               absl::Duration timeout);
  // Registers `memory` for `worker_task` with the ps at segment socket
  // `socket_path`, waiting at most `timeout` for the answer. Errors name the
  // path: UNAVAILABLE when nobody listens there, the ps's refusal
  // (FAILED_PRECONDITION) with its text, INTERNAL for a failed system call.
  static absl::StatusOr<std::unique_ptr<SharedSegment>> Register(
      const std::string& socket_path, std::shared_ptr<SharedMemory> memory, int32_t worker_task,
      absl::Duration timeout);
  SharedSegment(const SharedSegment&) = delete;
  SharedSegment& operator=(const SharedSegment&) = delete;
  ~SharedSegment();

  uint64_t id() const { return id_; }
  char* data() const { return memory_->data(); }
  size_t size() const { return memory_->size(); }
  const SharedMemory& memory() const { return *memory_; }

 private:
  explicit SharedSegment(std::shared_ptr<SharedMemory> memory) : memory_(std::move(memory)) {}

  const std::shared_ptr<SharedMemory> memory_;
  int connection_ = -1;  // to the ps's segment socket; closing it ends the registration
  uint64_t id_ = 0;
};

// A worker's segment as a ps maps it. Thread-safe (immutable; the bytes are
// the protocol's business).
class MappedSegment {
 public:
  // Maps memfd `fd` (taken: closed in every case) after checking that it
  // is sealed against shrinking and holds between 1 and `max_bytes` bytes;
  // FAILED_PRECONDITION saying what is wrong otherwise.
  static absl::StatusOr<std::unique_ptr<MappedSegment>> Map(int fd, uint64_t max_bytes);
  MappedSegment(const MappedSegment&) = delete;
  MappedSegment& operator=(const MappedSegment&) = delete;
  ~MappedSegment();

  size_t size() const { return size_; }
  // Bytes [offset, offset + bytes) of the segment; INVALID_ARGUMENT naming
  // `what`, the range and the size when the range is not inside it.
  absl::StatusOr<char*> Range(int64_t offset, int64_t bytes, const char* what) const {
    if (absl::Status s = CheckSegmentRange(size_, offset, bytes, what); !s.ok()) return s;
    return data_ + offset;
  }

 private:
  MappedSegment(char* data, size_t size) : data_(data), size_(size) {}

  char* const data_;
  const size_t size_;
};

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_SHARED_SEGMENT_H_
