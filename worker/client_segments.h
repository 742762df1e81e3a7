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
// The worker's variables and gradients may live in shared memory too
// (ShareTensors; worker/tensor_memory.h): registered once with the ps, they
// go to and from it in place, with no copy on this side. After a call of a
// kind that ended on the client's side (the ps may still read or write those
// tensors), that kind copies through its own segment until the worker hands
// over new memory (ShareTensors).
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

  // Whether this ps may take segments (its segment socket is known).
  bool enabled() const { return !socket_path_.empty(); }
  // The segment of `kind` if it holds `bytes`, else a new one of that size
  // registered with the ps; null when the ps takes none now.
  SharedSegment* For(Kind kind, size_t bytes);
  // Lets the segment of `kind` go (the ps said it does not know it), and the
  // tensors' registration too.
  void Drop(Kind kind);
  // After a call of `kind` that ended with `status`: the segment stays when
  // the ps's own verdict ended the call (EndedByThePs), else it goes, and if
  // the call used the shared tensors (`used_tensors`) this kind no longer
  // does (logged once).
  void AfterCall(Kind kind, const absl::Status& status, bool used_tensors = false);

  // The memory the worker's tensors live in (null: none), set between
  // calls; the segments of both kinds are made anew at their next call,
  // leaving the old ones to the ps as long as it holds them, and both kinds
  // use the new tensors again.
  void ShareTensors(std::shared_ptr<SharedMemory> memory);
  // The tensors' registration with the ps for a call of `kind` (registered
  // at the first call), or null: none shared, the ps takes none now, or this
  // kind stopped using them (AfterCall). The caller holds it for the call.
  std::shared_ptr<SharedSegment> Tensors(Kind kind);

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
  // Makes a registration of `memory` (or of new memory of `bytes`), or
  // returns null after logging the first failure and noting when to retry.
  std::unique_ptr<SharedSegment> Register(std::shared_ptr<SharedMemory> memory, size_t bytes);

  std::unique_ptr<SharedSegment> segments_[2];  // each touched by its kind's call only
  absl::Mutex mu_;
  std::shared_ptr<SharedMemory> tensors_memory_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<SharedSegment> tensors_ ABSL_GUARDED_BY(mu_);  // its registration
  bool tensors_off_[2] ABSL_GUARDED_BY(mu_) = {false, false};
  absl::Time retry_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool warned_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_CLIENT_SEGMENTS_H_
