#include "ps/training_progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"

namespace tessera {

TrainingProgress::TrainingProgress(const TrainingProgressOptions& options, Clock* clock)
    : options_(options),
      clock_(clock),
      sync_step_(0, options.replicas_to_aggregate, options.num_workers) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  // Every worker is expected from the start: one that never shows up is
  // missing after worker_timeout.
  for (int i = 0; i < options_.num_workers; ++i) workers_[i].last_seen = now;
}

bool TrainingProgress::Live(const WorkerState& worker, absl::Time now) const {
  return !worker.done && now - worker.last_seen < options_.worker_timeout;
}

int64_t TrainingProgress::SlowestLive(int except, absl::Time now) const {
  int64_t slowest = -1;
  for (const auto& [task, w] : workers_) {
    if (task == except || !Live(w, now)) continue;
    if (slowest < 0 || w.pushes < slowest) slowest = w.pushes;
  }
  return slowest;
}

void TrainingProgress::Touch(int worker, absl::Time now) {
  WorkerState& w = workers_[worker];
  if (options_.mode == STALE && !w.done && now - w.last_seen >= options_.worker_timeout) {
    const int64_t slowest = SlowestLive(worker, now);
    if (slowest > w.pushes) {
      LOG(INFO) << "worker " << worker << " is back after "
                << absl::FormatDuration(now - w.last_seen) << ": it rejoins at step " << slowest
                << " (it had pushed " << w.pushes << " steps)";
      w.pushes = slowest;
    }
  }
  w.last_seen = now;
}

void TrainingProgress::RecordPull(int worker) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  Touch(worker, now);
}

void TrainingProgress::RecordPush(int worker, int64_t step, bool dropped) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  Touch(worker, now);
  WorkerState& w = workers_[worker];
  w.last_step = std::max(w.last_step, step);
  w.last_push = now;
  ++w.pushes;
  if (dropped) ++w.pushes_dropped;
}

int TrainingProgress::RecordDone(int worker, int64_t last_step) {
  absl::MutexLock lock(&mu_);
  WorkerState& w = workers_[worker];
  w.done = true;
  w.last_step = std::max(w.last_step, last_step);
  int done = 0;
  for (const auto& [task, state] : workers_) done += state.done ? 1 : 0;
  return done;
}

SyncAccumulator::Verdict TrainingProgress::CountSyncStep(int worker, int64_t step,
                                                         std::atomic<int64_t>* global_step) {
  absl::MutexLock lock(&mu_);
  const int64_t current = global_step->load();
  const SyncAccumulator::Verdict verdict = sync_step_.Begin(worker, step, current);
  if (verdict != SyncAccumulator::Verdict::kAccumulate) return verdict;
  if (sync_step_.Complete(sync_step_.Start(worker))) {  // a whole push at once
    sync_step_.Reset();
    global_step->store(current + 1);
  }
  return verdict;
}

void TrainingProgress::ResetSyncStep() {
  absl::MutexLock lock(&mu_);
  sync_step_.Reset();
}

std::set<int> TrainingProgress::SyncStepContributors() const {
  absl::ReaderMutexLock lock(&mu_);
  return sync_step_.contributors();
}

bool TrainingProgress::StaleGateOpen(int worker, std::string* blocking) {
  const absl::Time now = clock_->Now();
  absl::ReaderMutexLock lock(&mu_);
  auto self = workers_.find(worker);
  if (self != workers_.end() && self->second.done) return true;
  const int64_t mine = self == workers_.end() ? 0 : self->second.pushes;
  const int64_t needed = mine - options_.staleness;
  std::string waits;
  for (const auto& [task, w] : workers_) {
    if (task == worker || !Live(w, now) || w.pushes >= needed) continue;
    absl::StrAppend(&waits, waits.empty() ? "" : ", ", Describe(task, now));
  }
  if (waits.empty()) return true;
  if (blocking != nullptr) {
    *blocking = absl::StrCat("worker ", worker, " at step ", mine, " (staleness ",
                             options_.staleness, ") waits for ", waits);
  }
  return false;
}

std::string TrainingProgress::Describe(int worker, absl::Time now) const {
  auto it = workers_.find(worker);
  if (it == workers_.end()) return absl::StrCat("worker ", worker, " (never seen)");
  const WorkerState& w = it->second;
  std::string text = absl::StrCat("worker ", worker, " (step ", w.pushes);
  if (w.last_push == absl::InfinitePast()) {
    absl::StrAppend(&text, ", no push yet");
  } else {
    absl::StrAppend(&text, absl::StrFormat(", last push %.1f s ago at global step %d",
                                           absl::ToDoubleSeconds(now - w.last_push),
                                           w.last_step));
  }
  if (w.done) absl::StrAppend(&text, ", done");
  if (!w.done && now - w.last_seen >= options_.worker_timeout) {
    absl::StrAppend(&text, absl::StrFormat(", missing: silent for %.1f s",
                                           absl::ToDoubleSeconds(now - w.last_seen)));
  }
  return absl::StrCat(text, ")");
}

std::string TrainingProgress::DescribeWorker(int worker) {
  const absl::Time now = clock_->Now();
  absl::ReaderMutexLock lock(&mu_);
  return Describe(worker, now);
}

std::set<int> TrainingProgress::NotIn(const std::set<int>& have) {
  absl::ReaderMutexLock lock(&mu_);
  std::set<int> missing;
  for (const auto& [task, w] : workers_) {
    if (!w.done && have.count(task) == 0) missing.insert(task);
  }
  return missing;
}

std::map<int, WorkerState> TrainingProgress::Workers(const std::set<int>& sync_contributors) {
  const absl::Time now = clock_->Now();
  absl::ReaderMutexLock lock(&mu_);
  std::map<int, WorkerState> result = workers_;
  // SYNC: can the workers still around complete the step without the missing?
  int available = 0;
  for (const auto& [task, w] : workers_) available += Live(w, now) ? 1 : 0;
  const bool needs_missing = available < options_.replicas_to_aggregate;
  for (auto& [task, w] : result) {
    w.missing = !w.done && now - w.last_seen >= options_.worker_timeout;
    if (options_.mode == SYNC) {
      // A step has begun without it; a missing worker holds the others back
      // only when the step cannot complete without it (no backups left).
      w.holding_back = !w.done && !sync_contributors.empty() &&
                       sync_contributors.count(task) == 0 && (!w.missing || needs_missing);
    } else if (options_.mode == STALE) {
      // A live worker holds back those more than `staleness` steps ahead.
      bool ahead_exists = false;
      for (const auto& [other, o] : workers_) {
        if (other != task && Live(o, now) && o.pushes - options_.staleness > w.pushes) {
          ahead_exists = true;
        }
      }
      w.holding_back = Live(w, now) && ahead_exists;
    }
  }
  return result;
}

}  // namespace tessera
