#ifndef TESSERA_WORKER_PS_RECOVERY_H_
#define TESSERA_WORKER_PS_RECOVERY_H_

// Initialization, restore and recovery of the parameter servers' state
// (DESIGN.md, Worker loop and chief; docs/checkpoints.md):
//
// - The chief at start creates the variables on every ps. A ps that holds
//   them initialized already (the chief restarted, the ps did not) keeps its
//   live state. The others get the latest valid checkpoint of checkpoint_dir
//   whose model fingerprint matches (values, slots, global step), or, without
//   one, the model's initial values.
// - A ps that restarts answers "not initialized". The chief then restores that
//   ps's blocks (and the global step, for ps 0) from the latest checkpoint;
//   without checkpoint_dir or a checkpoint that is an error naming the cause.
//   The other workers wait until the ps is ready again, saying so in status.
//
// Not thread-safe: the training thread drives it. Borrows the PsGroup, the
// config and the status, which must outlive it.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/checkpoint/checkpoint_manager.h"
#include "common/tensor.h"
#include "protos/train_config.pb.h"
#include "worker/ps_group.h"
#include "worker/worker_status.h"

namespace tessera {

struct PsRecoveryOptions {
  bool is_chief = false;
  std::string model_fingerprint;        // worker/model_fingerprint.h
  std::vector<std::string> slot_names;  // the optimizer's
  // How long a non-chief worker waits for the chief to restore a ps.
  absl::Duration wait_timeout = absl::Minutes(10);
};

class PsRecovery {
 public:
  PsRecovery(PsGroup* ps, const TrainConfig* config, WorkerStatus* status,
             PsRecoveryOptions options);

  // Chief, at start: see above. `initial` gives the model's initial values
  // (model order); it is called only when some ps needs them.
  absl::Status InitializeOrRestore(const std::function<std::vector<Tensor>()>& initial);

  // Chief, at start: InitializeOrRestore, then one pull of every variable
  // (PsGroup::CheckInitialized). A ps that restarted in between, or during
  // the initialization, answers "not initialized": it is initialized or
  // restored again, until the pull succeeds or `deadline` passes
  // (DEADLINE_EXCEEDED with the last error). Without this the chief went on to
  // wait for "the chief" to initialize that ps, that is for itself (found by
  // test/chaos.py: a ps killed while the chief was starting).
  absl::Status InitializeUntilReady(const std::function<std::vector<Tensor>()>& initial,
                                    absl::Time deadline);

  // After a Pull or Push failed with IsNotInitializedError(`cause`): the
  // chief restores every ps that lost its variables; another worker waits
  // until every ps is ready again. Errors name the ps and the cause.
  absl::Status Recover(const absl::Status& cause);

 private:
  // The latest usable checkpoint; NOT_FOUND when there is none (or no
  // checkpoint_dir).
  absl::StatusOr<RestoredCheckpoint> LatestCheckpoint() const;
  // Restores `ps_tasks` from `checkpoint`. Under SYNC, when other ps kept
  // their live state, the restored blocks (and ps 0's global step) continue at
  // the live ps's step instead of the checkpoint's.
  absl::Status Restore(const std::vector<int>& ps_tasks, const RestoredCheckpoint& checkpoint);
  // The step of the first ps not in `restored` that answers (PsGroup::PsStep).
  absl::StatusOr<int64_t> LiveStep(const std::vector<int>& restored);

  PsGroup* const ps_;
  const TrainConfig* const config_;
  WorkerStatus* const status_;
  const PsRecoveryOptions options_;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_PS_RECOVERY_H_
