#ifndef TESSERA_PS_STREAM_LIMITER_H_
#define TESSERA_PS_STREAM_LIMITER_H_

// Counts the streams (Pull, Push, Snapshot) each client has open on a
// parameter server and refuses one over the cap (--max_streams_per_peer), so
// that one client opening thousands of streams cannot take the ps's memory
// and threads from the others (docs/security.md, "Limits").
//
// A client is its host as gRPC names the peer, the port stripped
// ("ipv4:10.0.0.5"): every process on one host shares the budget (the job's
// tasks all present the same TLS certificate, so the certificate would not
// tell them apart either). A stream holds a Slot from Acquire until the Slot
// is released or destroyed. The service's reactors own theirs: they release
// it just before they finish the stream, so that a client starting its next
// stream as soon as it sees the end finds the slot free, and the reactor's
// destruction releases it in every other case (cancelled, failed).
//
// Thread-safe. The limiter must outlive every Slot it handed out.

#include <cstdint>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace tessera {

// The client host of a gRPC peer string: "ipv4:10.0.0.5:41234" ->
// "ipv4:10.0.0.5", "ipv6:[::1]:41234" -> "ipv6:[::1]" (also URL-encoded,
// "ipv6:%5B::1%5D:41234"); a peer without a numeric port ("unix:/tmp/s") is
// kept whole.
std::string PeerHost(absl::string_view peer);

class StreamLimiter {
 public:
  // One open stream of a peer; move-only, released when destroyed. Not
  // thread-safe: one owner at a time.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept { *this = std::move(other); }
    Slot& operator=(Slot&& other) noexcept;
    ~Slot() { Release(); }

    // Gives the slot back now; later calls (and the destructor) do nothing.
    void Release();

   private:
    friend class StreamLimiter;
    Slot(StreamLimiter* limiter, std::string peer) : limiter_(limiter), peer_(std::move(peer)) {}

    StreamLimiter* limiter_ = nullptr;  // borrowed; null when empty
    std::string peer_;
  };

  struct Usage {
    int64_t open = 0;          // streams open, all peers
    int64_t peers = 0;         // peers with a stream open
    std::string busiest_peer;  // the peer with the most open ("" when none)
    int64_t busiest = 0;       // how many it has open
  };

  explicit StreamLimiter(int max_per_peer);
  StreamLimiter(const StreamLimiter&) = delete;
  StreamLimiter& operator=(const StreamLimiter&) = delete;

  // A slot for a new `method` stream ("Pull") of `peer` (a PeerHost), or
  // RESOURCE_EXHAUSTED when the peer has max_per_peer open: "too many open
  // streams from ipv4:10.0.0.5: this Pull would make 65 open Pull, Push and
  // Snapshot streams; --max_streams_per_peer is 64".
  absl::StatusOr<Slot> Acquire(const std::string& peer, absl::string_view method);

  int max_per_peer() const { return max_per_peer_; }
  Usage usage() const;

 private:
  void Release(const std::string& peer);

  const int max_per_peer_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int64_t> open_ ABSL_GUARDED_BY(mu_);  // no zero entries
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tessera

#endif  // TESSERA_PS_STREAM_LIMITER_H_
