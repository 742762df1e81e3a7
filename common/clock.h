#ifndef TESSERA_COMMON_CLOCK_H_
#define TESSERA_COMMON_CLOCK_H_

// Time as an injected dependency, so logic with timeouts and rates is tested
// without sleeping. Both implementations are thread-safe.

#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tessera {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  virtual void SleepFor(absl::Duration d) = 0;
  // Blocks on `mu` (held by the caller) until `cond` holds or `deadline`
  // passes; returns whether `cond` holds. With the fake clock the deadline is
  // reached when the test advances time.
  virtual bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                 absl::Time deadline) = 0;
};

// Wall-clock time. Use RealClock::Get() for the process-wide instance, which
// is stateless.
class RealClock final : public Clock {
 public:
  static RealClock* Get();
  absl::Time Now() const override;
  void SleepFor(absl::Duration d) override;
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                         absl::Time deadline) override;
};

// A clock that moves only when told. SleepFor and AwaitWithDeadline return once
// Advance() has moved time past their deadline (or, for Await, once the
// condition holds).
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::UnixEpoch() + absl::Hours(24 * 365 * 50));
  absl::Time Now() const override;
  void SleepFor(absl::Duration d) override;
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                         absl::Time deadline) override;
  void Advance(absl::Duration d);
  // For tests: blocks until `n` threads are asleep in SleepFor, so that
  // Advance() is known to happen after they computed their deadlines. A thread
  // that Advance() has woken counts no more, even before it has run again.
  void BlockUntilSleepers(int n);
  // Threads in SleepFor whose wake-up time is still ahead.
  int blocked_sleepers() const;

 private:
  int BlockedSleepersLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::multiset<absl::Time> wake_times_ ABSL_GUARDED_BY(mu_);  // one per sleeper
};

}  // namespace tessera

#endif  // TESSERA_COMMON_CLOCK_H_
