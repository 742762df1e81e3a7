#ifndef TESSERA_COMMON_RPC_SEGMENT_SERVER_H_
#define TESSERA_COMMON_RPC_SEGMENT_SERVER_H_

// The ps's side of shared memory with the workers of its host
// (common/rpc/shared_segment.h): listens on the segment socket, takes each
// worker's memory file, checks and maps it, and keeps it registered under a
// random id while the worker's connection stays open.
//
//   ASSIGN_OR_RETURN(auto segments, SegmentServer::Start({.path = SegmentSocketPath(sock),
//                                                        .max_segment_bytes = limit}));
//   std::shared_ptr<const MappedSegment> segment = segments->Find(header.segment());
//
// A registration is refused (the worker is told why, and the ps logs it)
// when the peer's uid is not this process's, the message is not a
// registration with exactly one descriptor, or MappedSegment::Map refuses
// the file, or max_segments are registered already (a connection beyond
// twice that many is closed at once). Thread-safe;
// one thread of its own serves the socket.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc/shared_segment.h"

namespace tessera {

struct SegmentServerOptions {
  // The socket to listen on (SegmentSocketPath of the ps's local socket), in
  // a directory PrepareLocalSocketDir accepted; a stale socket there is
  // replaced, and the socket is removed when the server stops.
  std::string path;
  // Largest segment taken (the ps's --max_bytes_held: a segment never needs
  // to hold more than the blocks of one ps).
  uint64_t max_segment_bytes = 0;
  // Registrations (connections) held at once.
  int max_segments = 256;
};

class SegmentServer {
 public:
  static absl::StatusOr<std::unique_ptr<SegmentServer>> Start(const SegmentServerOptions& options);
  SegmentServer(const SegmentServer&) = delete;
  SegmentServer& operator=(const SegmentServer&) = delete;
  // Stops serving, removes the socket and drops every registration (a
  // segment a call still holds stays mapped until that call lets it go).
  ~SegmentServer();

  // The segment registered as `id`; null when there is none (never was, or
  // its worker's connection closed).
  std::shared_ptr<const MappedSegment> Find(uint64_t id) const;
  // Segments registered now.
  int segments() const;

 private:
  SegmentServer(const SegmentServerOptions& options, int listener, int wakeup)
      : options_(options), listener_(listener), wakeup_(wakeup) {}

  void Serve();
  // Takes the registration waiting on `connection`; its id, or 0 after
  // answering a refusal (`full`: max_segments are registered).
  uint64_t Register(int connection, bool full);
  uint64_t Add(std::unique_ptr<MappedSegment> segment);
  void Remove(uint64_t id);

  const SegmentServerOptions options_;
  const int listener_;
  const int wakeup_;  // eventfd: written to stop the thread
  std::atomic<bool> stop_{false};  // set first (the thread also checks it every second)
  std::thread thread_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::shared_ptr<const MappedSegment>> segments_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_SEGMENT_SERVER_H_
