// The waiting Pulls of SYNC and STALE (VariableStore::PullReady and
// WaitForPull, ps/variable_store.h) and their descriptions for status and
// errors.
//
// Lock order as in store_sessions.cc: the store's mu_, a block's mu and the
// tracker's lock are never held together here.

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ps/variable_store.h"

namespace tessera {
namespace {

std::string JoinTasks(const std::set<int>& tasks) {
  return tasks.empty() ? std::string("none") : absl::StrJoin(tasks, ", ");
}

}  // namespace

bool VariableStore::PullReady(const PullRequest& request, const PullSession& session) {
  if (request.min_version() <= 0) return true;
  TrainingProgress* tracker = progress();
  if (tracker == nullptr) return true;
  switch (tracker->options().mode) {
    case SYNC:
      if (holds_global_step_ && global_step_.load() < request.min_version()) return false;
      for (VariableBlock* block : session.blocks()) {
        absl::ReaderMutexLock lock(&block->mu);
        if (block->version < request.min_version()) return false;
      }
      return true;
    case STALE:
      return tracker->StaleGateOpen(request.worker_task(), nullptr);
    default:
      return true;
  }
}

uint64_t VariableStore::WaitForPull(const PullRequest& request, const PullSession* session,
                                    std::function<void(absl::Status)> done) {
  PullWaiter* waiter = nullptr;
  absl::Duration timeout;
  {
    absl::ReaderMutexLock lock(&mu_);
    waiter = waiter_.get();
    timeout = sync_timeout_;
  }
  if (waiter == nullptr) {  // ASYNC: nothing to wait for
    done(absl::OkStatus());
    return 0;
  }
  return waiter->Add([this, request, session] { return PullReady(request, *session); },
                     clock_->Now() + timeout,
                     [this, request, session] { return PullTimeoutError(request, *session); },
                     std::move(done));
}

bool VariableStore::CancelPullWait(uint64_t id) {
  absl::ReaderMutexLock lock(&mu_);
  return waiter_ != nullptr && waiter_->Cancel(id);
}

absl::Status VariableStore::PullTimeoutError(const PullRequest& request,
                                             const PullSession& session) {
  TrainingProgress* tracker = progress();
  absl::Duration timeout;
  {
    absl::ReaderMutexLock lock(&mu_);
    timeout = sync_timeout_;
  }
  const std::string waited = absl::FormatDuration(timeout);
  if (tracker->options().mode == STALE) {
    std::string blocking;
    if (tracker->StaleGateOpen(request.worker_task(), &blocking)) return absl::OkStatus();
    return absl::DeadlineExceededError(absl::StrCat(
        "STALE: waited ", waited, " (sync_timeout_secs): ", blocking,
        "; a worker that stays silent for worker_timeout_secs is no longer waited for"));
  }
  const int64_t step = request.min_version() - 1;
  return absl::DeadlineExceededError(absl::StrCat(
      "SYNC step ", step, " did not complete within ", waited, " (sync_timeout_secs): ",
      DescribeSyncWait(step, session.blocks()),
      " (without backup workers, total_replicas > replicas_to_aggregate, every step needs "
      "them)"));
}

std::string VariableStore::DescribeSyncWait(int64_t step,
                                            const std::vector<VariableBlock*>& blocks) const {
  TrainingProgress* tracker = progress();
  std::set<int> have;
  std::string where;
  if (holds_global_step_ && global_step_.load() <= step) {
    have = tracker->SyncStepContributors();
    where = "the global step";
  } else {
    for (VariableBlock* block : blocks) {
      absl::ReaderMutexLock lock(&block->mu);
      if (block->version <= step && block->sync != nullptr) {
        have = block->sync->contributors();
        where = absl::StrCat("block '", block->name, "'");
        break;
      }
    }
  }
  if (where.empty()) return "every block is past that step";
  std::string missing;
  for (int task : tracker->NotIn(have)) {
    absl::StrAppend(&missing, missing.empty() ? "" : ", ", tracker->DescribeWorker(task));
  }
  return absl::StrCat(where, " has gradients from workers ", JoinTasks(have), " (",
                      have.size(), " of ", tracker->options().replicas_to_aggregate,
                      " needed); none yet from ", missing.empty() ? "any other worker" : missing);
}

std::set<int> VariableStore::SyncContributors() const {
  TrainingProgress* tracker = progress();
  if (tracker == nullptr || tracker->options().mode != SYNC) return {};
  if (holds_global_step_) return tracker->SyncStepContributors();
  VariableBlock* first = nullptr;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (!blocks_.empty()) first = blocks_.front().get();
  }
  if (first == nullptr) return {};
  absl::ReaderMutexLock lock(&first->mu);
  return first->sync->contributors();
}

std::string VariableStore::WaitingFor() const {
  TrainingProgress* tracker = progress();
  int waiting = 0;
  std::vector<VariableBlock*> blocks;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (waiter_ != nullptr) waiting = waiter_->size();
    for (const auto& block : blocks_) blocks.push_back(block.get());
  }
  if (tracker == nullptr || waiting == 0) return "";
  const std::string pulls = absl::StrCat(waiting, " waiting pull(s): ");
  if (tracker->options().mode == SYNC) {
    int64_t step = holds_global_step_ ? global_step_.load() : -1;
    if (step < 0) {
      for (VariableBlock* block : blocks) {
        absl::ReaderMutexLock lock(&block->mu);
        if (step < 0 || block->version < step) step = block->version;
      }
    }
    return absl::StrCat(pulls, "SYNC step ", step, ": ", DescribeSyncWait(step, blocks));
  }
  std::string text;
  for (int task = 0; task < tracker->options().num_workers; ++task) {
    std::string blocking;
    if (!tracker->StaleGateOpen(task, &blocking)) {
      absl::StrAppend(&text, text.empty() ? "" : "; ", blocking);
    }
  }
  return absl::StrCat(pulls, text.empty() ? "the gate is open" : text);
}

}  // namespace tessera
