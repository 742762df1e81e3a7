#ifndef TESSERA_WORKER_HOOKS_CHECKPOINT_HOOK_H_
#define TESSERA_WORKER_HOOKS_CHECKPOINT_HOOK_H_

// The chief's checkpoints (DESIGN.md, Worker loop and chief): every
// save_checkpoint_secs and/or save_checkpoint_steps, and at the end (also when
// stopped early by a signal). Each checkpoint is a Snapshot of every ps
// (values, optimizer slots, global step), taken on the training thread, then
// written by a CheckpointSaver on its own thread; when the previous write is
// still running when the next is due, the save is delayed (logged) until a
// step after it finished. The final checkpoint waits for any write in
// progress and is written before End returns.
//
// A failed write (a full disk, a failed fsync or rename, a torn write) is never
// committed, so the previous checkpoint stays the latest valid one; what
// happens next is TrainConfig.on_checkpoint_error's (write_errors.h): the
// next checkpoint is tried when due (TRAIN_ON), or the job stops (STOP_JOB).
// A failed final checkpoint is End's error either way: the worker then exits
// with it and leaves the ps tasks running, so a restarted chief finds the
// trained values there and saves them.
// Not thread-safe: the training thread calls it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/checkpoint/checkpoint_manager.h"
#include "common/clock.h"
#include "common/file_system.h"
#include "worker/hooks/checkpoint_saver.h"
#include "worker/hooks/write_errors.h"
#include "worker/training_hook.h"

namespace tessera {

struct CheckpointHookOptions {
  std::string model_fingerprint;        // worker/model_fingerprint.h
  std::vector<std::string> slot_names;  // the optimizer's
  absl::Duration write_delay = absl::ZeroDuration();  // tests only; CheckpointSaverOptions
  Clock* clock = nullptr;  // borrowed; RealClock::Get() when null
  FileSystem* fs = nullptr;  // borrowed; DefaultFileSystem() when null
};

class CheckpointHook final : public TrainingHook {
 public:
  explicit CheckpointHook(CheckpointHookOptions options);
  ~CheckpointHook() override;

  // Opens context.config->checkpoint_dir() with a CheckpointManager
  // (max_to_keep, keep_checkpoint_every_n_hours); errors name the directory.
  absl::Status Begin(const HookContext& context) override;
  absl::Status AfterStep(const StepInfo& step) override;
  absl::Status End(const EndInfo& end) override;

  // Blocks until the background write in progress, if any, has finished
  // (End does this itself; tests use it to order writes).
  void WaitForBackgroundWrite() { saver_->WaitIdle().IgnoreError(); }

 private:
  // Snapshot of every ps as checkpoint contents with this job's metadata.
  absl::StatusOr<CheckpointContents> TakeSnapshot();
  void ScheduleNext(int64_t global_step);

  const CheckpointHookOptions options_;
  Clock* const clock_;
  HookContext context_;
  std::unique_ptr<CheckpointManager> manager_;
  std::unique_ptr<WriteErrors> errors_;  // before saver_, whose thread reports to it
  std::unique_ptr<CheckpointSaver> saver_;
  int64_t last_saved_step_ = -1;
  int64_t next_step_ = -1;                     // save at this global step; -1: never
  absl::Time next_time_ = absl::InfiniteFuture();
  bool delay_logged_ = false;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_HOOKS_CHECKPOINT_HOOK_H_
