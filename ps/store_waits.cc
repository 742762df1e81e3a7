#include "ps/store_waits.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tessera {
namespace {

std::string JoinTasks(const std::set<int>& tasks) {
  return tasks.empty() ? std::string("none") : absl::StrJoin(tasks, ", ");
}

// The workers a SYNC step still needs, described; from the global-step count
// on the ps holding it, else the first block short of `step`.
std::string DescribeSyncWait(const StoreCore& core, int64_t step,
                             const std::vector<VariableBlock*>& blocks) {
  TrainingProgress* tracker = core.progress();
  std::set<int> have;
  std::string where;
  if (core.holds_global_step() && core.ReportedGlobalStep() <= step) {
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

}  // namespace

bool PullReady(const StoreCore& core, const PullRequest& request,
               const std::vector<VariableBlock*>& blocks) {
  if (request.min_version() <= 0) return true;
  TrainingProgress* tracker = core.progress();
  if (tracker == nullptr) return true;
  switch (tracker->options().mode) {
    case SYNC:
      if (core.holds_global_step() && core.ReportedGlobalStep() < request.min_version()) {
        return false;
      }
      for (VariableBlock* block : blocks) {
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

absl::Status PullTimeoutError(const StoreCore& core, const PullRequest& request,
                              const std::vector<VariableBlock*>& blocks) {
  TrainingProgress* tracker = core.progress();
  const std::string waited = absl::FormatDuration(core.sync_timeout());
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
      DescribeSyncWait(core, step, blocks),
      " (without backup workers, total_replicas > replicas_to_aggregate, every step needs "
      "them)"));
}

std::set<int> SyncContributors(const StoreCore& core) {
  TrainingProgress* tracker = core.progress();
  if (tracker == nullptr || tracker->options().mode != SYNC) return {};
  if (core.holds_global_step()) return tracker->SyncStepContributors();
  const std::vector<VariableBlock*> blocks = core.Blocks();
  if (blocks.empty()) return {};
  VariableBlock* first = blocks.front();
  absl::ReaderMutexLock lock(&first->mu);
  return first->sync->contributors();
}

std::string WaitingFor(const StoreCore& core) {
  TrainingProgress* tracker = core.progress();
  PullWaiter* waiter = core.waiter();
  const int waiting = waiter != nullptr ? waiter->size() : 0;
  if (tracker == nullptr || waiting == 0) return "";
  const std::vector<VariableBlock*> blocks = core.Blocks();
  const std::string pulls = absl::StrCat(waiting, " waiting pull(s): ");
  if (tracker->options().mode == SYNC) {
    int64_t step = core.ReportedGlobalStep();
    if (step < 0) {
      for (VariableBlock* block : blocks) {
        absl::ReaderMutexLock lock(&block->mu);
        if (step < 0 || block->version < step) step = block->version;
      }
    }
    return absl::StrCat(pulls, "SYNC step ", step, ": ", DescribeSyncWait(core, step, blocks));
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
