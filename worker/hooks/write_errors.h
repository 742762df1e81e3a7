#ifndef TESSERA_WORKER_HOOKS_WRITE_ERRORS_H_
#define TESSERA_WORKER_HOOKS_WRITE_ERRORS_H_

// What the checkpoint and summary hooks do when a write fails (a full disk, a
// failed fsync or rename, a torn write), as TrainConfig.on_checkpoint_error and
// on_summary_error say (docs/reliability.md, "Disk faults"):
//
//   WriteErrors errors("summary", config.on_summary_error(), context, clock);
//   absl::Status s = writer->AddScalars(...);
//   if (!s.ok()) errors.Failed(s); else errors.Succeeded();
//
// Every failure counts in the worker's status (write_errors, last_error) and is
// logged: the first after a success at once, later ones at most once a minute
// with the number left out, and the first success after failures says the
// writes work again. TRAIN_ON: nothing more; training goes on. STOP_JOB: the
// first failure asks the worker to stop the job (HookContext::stop_job).
// Thread-safe (the checkpoint writer reports from its own thread).

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/refusal_log.h"
#include "protos/train_config.pb.h"
#include "worker/training_hook.h"

namespace tessera {

class WriteErrors {
 public:
  // `what` names the writes in the log and the config field: "checkpoint" or
  // "summary" (on_checkpoint_error, on_summary_error). `context`
  // is copied (its status and stop_job may be null).
  WriteErrors(std::string what, OnWriteError policy, const HookContext& context, Clock* clock);

  // A write failed with `error` (which names the file).
  void Failed(const absl::Status& error);
  // A write succeeded.
  void Succeeded();

  // Failures since the last success.
  int64_t failures_in_a_row() const;

 private:
  const std::string what_;
  const OnWriteError policy_;
  const HookContext context_;
  RefusalLog log_;
  mutable absl::Mutex mu_;
  int64_t in_a_row_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_asked_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_HOOKS_WRITE_ERRORS_H_
