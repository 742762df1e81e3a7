#ifndef TESSERA_WORKER_HOOKS_CHECKPOINT_SAVER_H_
#define TESSERA_WORKER_HOOKS_CHECKPOINT_SAVER_H_

// Writes the chief's checkpoints on a background thread, one at a time, so
// that training stalls only for the snapshot, not for the disk.
//
//   CheckpointSaver saver(manager.get(), {});
//   if (!saver.TryStart(std::move(contents))) { /* previous write still running */ }
//   ...
//   RETURN_IF_ERROR(saver.WaitIdle());  // before the final checkpoint
//
// Thread-safe. The manager is borrowed and must outlive the saver; the
// destructor waits for the write in progress.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/checkpoint/checkpoint.h"
#include "common/checkpoint/checkpoint_manager.h"

namespace tessera {

struct CheckpointSaverOptions {
  // Tests only: a pause after the tensors are written and before the
  // checkpoint is committed (fsync, rename, state file), to open a window in
  // which killing the chief leaves a half-written checkpoint.
  absl::Duration write_delay = absl::ZeroDuration();
  // Called on the writer thread after each successful write with the
  // checkpoint's path (e.g. for the Admin status). Optional.
  std::function<void(const std::string&)> on_saved;
  // Called on the writing thread after each failed write with the error:
  // "checkpoint at global step N not written: <the error, naming the file>".
  // Optional.
  std::function<void(const absl::Status&)> on_failed;
};

class CheckpointSaver {
 public:
  CheckpointSaver(CheckpointManager* manager, CheckpointSaverOptions options);
  CheckpointSaver(const CheckpointSaver&) = delete;
  CheckpointSaver& operator=(const CheckpointSaver&) = delete;
  ~CheckpointSaver();

  // Starts writing `contents` in the background. Returns false, doing
  // nothing, while the previous write is still running.
  bool TryStart(CheckpointContents contents);
  // A write is running (TryStart would return false).
  bool Busy();
  // Blocks until no write is running; returns the last write's result (OK
  // when there was none). A failed write is also logged when it happens.
  absl::Status WaitIdle();
  // Writes `contents` on the calling thread, after any background write.
  absl::StatusOr<std::string> SaveNow(const CheckpointContents& contents);

 private:
  void Loop();
  absl::StatusOr<std::string> Write(const CheckpointContents& contents);

  CheckpointManager* const manager_;
  const CheckpointSaverOptions options_;
  absl::Mutex mu_;
  std::unique_ptr<CheckpointContents> pending_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // pending_ set or being written
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status last_status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last member: starts after the others exist
};

}  // namespace tessera

#endif  // TESSERA_WORKER_HOOKS_CHECKPOINT_SAVER_H_
