#include "ps/pull_waiter.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace tessera {

PullWaiter::PullWaiter(Clock* clock, absl::Duration recheck)
    : clock_(clock), recheck_(recheck), thread_([this] { Run(); }) {}

PullWaiter::~PullWaiter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
  std::map<uint64_t, std::shared_ptr<Wait>> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(waits_);
  }
  for (auto& [id, wait] : left) wait->done(absl::CancelledError("the parameter server is stopping"));
}

uint64_t PullWaiter::Add(Condition ready, absl::Time deadline, TimeoutStatus on_timeout,
                         Callback done) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  waits_[id] = std::make_shared<Wait>(
      Wait{std::move(ready), deadline, std::move(on_timeout), std::move(done)});
  changed_ = true;
  return id;
}

bool PullWaiter::Cancel(uint64_t id) {
  absl::MutexLock lock(&mu_);
  return waits_.erase(id) > 0;
}

void PullWaiter::Notify() {
  absl::MutexLock lock(&mu_);
  changed_ = true;
}

int PullWaiter::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(waits_.size());
}

void PullWaiter::Run() {
  while (true) {
    std::map<uint64_t, std::shared_ptr<Wait>> waits;
    {
      absl::MutexLock lock(&mu_);
      absl::Time wake = clock_->Now() + recheck_;
      for (const auto& [id, wait] : waits_) wake = std::min(wake, wait->deadline);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return changed_ || stop_; };
      clock_->AwaitWithDeadline(&mu_, absl::Condition(&woken), wake);
      if (stop_) return;
      changed_ = false;
      waits = waits_;
    }
    // Check without the lock: conditions take the store's locks.
    const absl::Time now = clock_->Now();
    std::vector<std::pair<uint64_t, bool>> finished;  // id, ready
    for (const auto& [id, wait] : waits) {
      if (wait->ready()) {
        finished.emplace_back(id, true);
      } else if (now >= wait->deadline) {
        finished.emplace_back(id, false);
      }
    }
    for (const auto& [id, ready] : finished) {
      {
        absl::MutexLock lock(&mu_);
        if (waits_.erase(id) == 0) continue;  // cancelled meanwhile
      }
      const std::shared_ptr<Wait>& wait = waits[id];
      wait->done(ready ? absl::OkStatus() : wait->on_timeout());
    }
  }
}

}  // namespace tessera
