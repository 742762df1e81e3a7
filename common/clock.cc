#include "common/clock.h"

#include <algorithm>
#include <iterator>

namespace tessera {

RealClock* RealClock::Get() {
  static RealClock* clock = new RealClock;
  return clock;
}

absl::Time RealClock::Now() const { return absl::Now(); }

void RealClock::SleepFor(absl::Duration d) { absl::SleepFor(d); }

bool RealClock::AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                  absl::Time deadline) {
  return mu->AwaitWithDeadline(cond, deadline);
}

FakeClock::FakeClock(absl::Time start) : now_(start) {}

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeClock::SleepFor(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  const absl::Time until = now_ + d;
  auto reached = [this, until]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return now_ >= until; };
  const auto wake_time = wake_times_.insert(until);
  mu_.Await(absl::Condition(&reached));
  wake_times_.erase(wake_time);
}

int FakeClock::BlockedSleepersLocked() const {
  return static_cast<int>(std::distance(wake_times_.upper_bound(now_), wake_times_.end()));
}

int FakeClock::blocked_sleepers() const {
  absl::MutexLock lock(&mu_);
  return BlockedSleepersLocked();
}

void FakeClock::BlockUntilSleepers(int n) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return BlockedSleepersLocked() >= n;
  };
  mu_.Await(absl::Condition(&enough));
}

bool FakeClock::AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                                  absl::Time deadline) {
  // Poll in short real-time slices: the condition is guarded by the caller's
  // mutex, the deadline by ours.
  while (true) {
    if (mu->AwaitWithDeadline(cond, absl::Now() + absl::Milliseconds(1))) return true;
    if (Now() >= deadline) return cond.Eval();
  }
}

void FakeClock::Advance(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  now_ += d;
}

}  // namespace tessera
