#ifndef TESSERA_PS_PULL_WAITER_H_
#define TESSERA_PS_PULL_WAITER_H_

// Pulls that wait (SYNC min_version, the STALE gate) without holding a gRPC
// thread: a waiting Pull registers a condition, a deadline and a callback;
// one waiter thread re-checks the conditions whenever Notify() says the
// store changed (and at least every `recheck` of clock time, for conditions
// that depend on time), and calls each callback exactly once: with OK when
// its condition holds, or with the status of its `on_timeout` at the
// deadline. Cancel() withdraws a wait whose callback has not started.
//
// Conditions and callbacks run on the waiter thread without the waiter's
// lock held, so they may take the store's locks; Notify() takes only the
// waiter's lock, so any thread may call it, holding any lock.
//
// Thread-safe. The clock is borrowed. Owns its thread: started by the
// constructor, joined by the destructor, which first runs every remaining
// wait's callback with CANCELLED.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace tessera {

class PullWaiter {
 public:
  using Condition = std::function<bool()>;
  using TimeoutStatus = std::function<absl::Status()>;
  using Callback = std::function<void(absl::Status)>;

  PullWaiter(Clock* clock, absl::Duration recheck = absl::Seconds(1));
  PullWaiter(const PullWaiter&) = delete;
  PullWaiter& operator=(const PullWaiter&) = delete;
  ~PullWaiter();

  // Registers a wait; returns its id (> 0) for Cancel.
  uint64_t Add(Condition ready, absl::Time deadline, TimeoutStatus on_timeout, Callback done);
  // True when the wait was withdrawn before its callback started (the
  // callback will never run); false when it has run or is running.
  bool Cancel(uint64_t id);
  // The store changed: re-check the conditions.
  void Notify();
  // Waits registered and not yet called back.
  int size() const;

 private:
  struct Wait {
    Condition ready;
    absl::Time deadline;
    TimeoutStatus on_timeout;
    Callback done;
  };
  void Run();

  Clock* const clock_;
  const absl::Duration recheck_;
  mutable absl::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<Wait>> waits_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tessera

#endif  // TESSERA_PS_PULL_WAITER_H_
