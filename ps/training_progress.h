#ifndef TESSERA_PS_TRAINING_PROGRESS_H_
#define TESSERA_PS_TRAINING_PROGRESS_H_

// What a parameter server knows about each worker's progress, and the rules
// of the waiting update modes built on it (docs/update_modes.md):
//
// - every mode: each worker's last step, pushes, dropped pushes, last
//   activity (Pull or Push) and whether it reported done;
// - "missing": a worker not done and silent for worker_timeout; it is not
//   waited for (STALE) and status names it;
// - STALE gate: worker w may proceed when every live worker u != w has
//   pushes(u) >= pushes(w) - staleness (pushes counted by this ps; s = 0 is
//   lock step). A missing worker that becomes active again rejoins at the
//   slowest live worker's count, so it holds nobody back for the steps it
//   missed;
// - SYNC global step (ps 0): advances when replicas_to_aggregate workers
//   finished a push computed at the current global step (SyncAccumulator
//   rules: older steps and second pushes are dropped).
//
// Thread-safe. Time comes from the injected clock (borrowed).

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "protos/ps_service.pb.h"
#include "ps/sync_accumulator.h"

namespace tessera {

struct TrainingProgressOptions {
  UpdateMode mode = ASYNC;
  int num_workers = 1;
  int replicas_to_aggregate = 1;  // SYNC, >= 1
  int staleness = 0;              // STALE, >= 0
  absl::Duration worker_timeout = absl::Seconds(60);
};

// What a worker last told this ps, and what this ps concludes.
struct WorkerState {
  int64_t last_step = -1;  // step of its last GRADIENT push (or WorkerDone)
  absl::Time last_push = absl::InfinitePast();
  absl::Time last_seen = absl::InfinitePast();  // last Pull or Push
  bool done = false;
  int64_t pushes = 0;          // GRADIENT pushes finished (STALE: its step)
  int64_t pushes_dropped = 0;  // pushes with dropped chunks
  bool missing = false;        // not done and silent for worker_timeout
  bool holding_back = false;   // others wait for it now
};

class TrainingProgress {
 public:
  TrainingProgress(const TrainingProgressOptions& options, Clock* clock);

  const TrainingProgressOptions& options() const { return options_; }

  // A Pull by `worker` (activity; a missing worker rejoins).
  void RecordPull(int worker);
  // A GRADIENT push by `worker` computed at `step` finished; `dropped` when
  // some of its chunks were dropped.
  void RecordPush(int worker, int64_t step, bool dropped);
  // `worker` reached max_steps. Returns how many workers are done.
  int RecordDone(int worker, int64_t last_step);

  // SYNC, on the ps holding the global step: counts a finished push of
  // `worker` computed at `step` towards *global_step (borrowed; advanced
  // here when the step completes). Returns the verdict (kAccumulate: counted).
  SyncAccumulator::Verdict CountSyncStep(int worker, int64_t step,
                                         std::atomic<int64_t>* global_step);
  // The global step was assigned (restore): the SYNC count starts afresh.
  void ResetSyncStep();
  // Workers counted for the current SYNC global step.
  std::set<int> SyncStepContributors() const;

  // STALE: whether `worker` may proceed now. When not, *blocking says who it
  // waits for ("worker 2 (step 9, last push 3.0 s ago)").
  bool StaleGateOpen(int worker, std::string* blocking);

  // "worker 2 (1 pushes, last push 31.0 s ago at step 16, missing)"
  std::string DescribeWorker(int worker);
  // Not done, not in `have`: the workers a SYNC step still lacks.
  std::set<int> NotIn(const std::set<int>& have);

  // Every worker seen (or expected: 0 .. num_workers - 1), with missing and
  // holding_back filled in. SYNC: holding_back marks workers not in
  // `sync_contributors` while that step has begun.
  std::map<int, WorkerState> Workers(const std::set<int>& sync_contributors);

 private:
  bool Live(const WorkerState& worker, absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The fewest pushes of a live worker other than `except` (-1: none).
  int64_t SlowestLive(int except, absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void Touch(int worker, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Describe(int worker, absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const TrainingProgressOptions options_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  std::map<int, WorkerState> workers_ ABSL_GUARDED_BY(mu_);
  SyncAccumulator sync_step_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_PS_TRAINING_PROGRESS_H_
