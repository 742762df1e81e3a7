#ifndef TESSERA_WORKER_CLIENT_SEGMENTS_H_
#define TESSERA_WORKER_CLIENT_SEGMENTS_H_

// The shared memory of one PsClient with a ps of its host
// (common/rpc/shared_segment.h; docs/protocol.md, "Shared memory"): one
// segment for its pushes and one for its pulls, each made at its first use
// with the size of that call's tensors (a larger call makes a larger one),
// and let go when a call ended on the client's side, since the ps may still
// read or write it then.
//
//   SharedSegment* segment = segments.For(ClientSegments::kPush, bytes);  // null: send bytes
//   ... the call ...
//   segments.AfterCall(ClientSegments::kPush, status);
//
// A ps that takes no segment (it runs without shared memory, or refuses) is
// asked again a minute later; the first refusal is logged as a warning.
// Each kind is used by one call at a time; a push and a pull may run at once
// (thread-safe across kinds).

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/rpc/shared_segment.h"

namespace tessera {

class ClientSegments {
 public:
  enum Kind { kPush = 0, kPull = 1 };

  // `socket_path`: the ps's segment socket ("" : never any segment).
  // `ps_task` and `worker_task` name the two sides in messages; `clock` is
  // borrowed.
  ClientSegments(std::string socket_path, int ps_task, int worker_task, Clock* clock)
      : socket_path_(std::move(socket_path)),
        ps_task_(ps_task),
        worker_task_(worker_task),
        clock_(clock) {}

  // The segment of `kind` if it holds `bytes`, else a new one of that size
  // registered with the ps; null when the ps takes none now.
  SharedSegment* For(Kind kind, size_t bytes);
  // Lets the segment of `kind` go (the ps said it does not know it).
  void Drop(Kind kind) { segments_[kind].reset(); }
  // After a call of `kind` that ended with `status`: the segment stays when
  // the ps's own verdict ended the call (EndedByThePs), else it goes.
  void AfterCall(Kind kind, const absl::Status& status) {
    if (!EndedByThePs(status)) Drop(kind);
  }

  // Whether a call's result is one the ps gave once its stream was over (an
  // answer, or its verdict on the request: INVALID_ARGUMENT, NOT_FOUND,
  // FAILED_PRECONDITION, ...), so it no longer touches the call's segment;
  // false for what this side or the connection ended (cancelled, deadline,
  // broken, abandoned, a bad answer).
  static bool EndedByThePs(const absl::Status& status);

 private:
  const std::string socket_path_;
  const int ps_task_;
  const int worker_task_;
  Clock* const clock_;
  std::unique_ptr<SharedSegment> segments_[2];  // each touched by its kind's call only
  absl::Mutex mu_;
  absl::Time retry_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool warned_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_CLIENT_SEGMENTS_H_
