#ifndef TESSERA_WORKER_HOOKS_SUMMARY_HOOK_H_
#define TESSERA_WORKER_HOOKS_SUMMARY_HOOK_H_

// TensorBoard summaries of training (docs/summaries.md). Every worker writes
// to its own event file in <summary_dir>/worker_<task>/:
//
//   every save_summaries_steps global steps (and at its first step):
//     loss, learning_rate, images_per_sec, global_step/sec,
//     step_time_seconds, input_wait_fraction, bytes_pulled, bytes_pushed
//   chief only: histograms of every variable every save_histograms_steps
//     and at the end; three input images at the first step; eval/loss and
//     eval/accuracy for each evaluation (AddEvalResult, e.g. from
//     EvaluationHook's result callback).
//
// Scalars cover the window since the previous summary: loss and step time are
// means over this worker's steps in it, rates divide by its wall time.
// The hook methods are called from the training thread; AddEvalResult may be
// called from any thread (the writer is thread-safe).
//
// A failed write (a full disk, a failed fsync, a torn write) is handled as
// TrainConfig.on_summary_error says (write_errors.h): by default training goes
// on and later summaries go to a new event file (summary_writer.h).

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/file_system.h"
#include "common/records/summary_writer.h"
#include "worker/evaluation.h"
#include "worker/hooks/write_errors.h"
#include "worker/training_hook.h"

namespace tessera {

class SummaryHook final : public TrainingHook {
 public:
  // Opens an event file in <config.summary_dir()>/worker_<task>/ (created if
  // missing). `clock` and `fs` (DefaultFileSystem() when null) are borrowed.
  // Errors name the directory or file.
  static absl::StatusOr<std::unique_ptr<SummaryHook>> Create(const TrainConfig& config, int task,
                                                             Clock* clock,
                                                             FileSystem* fs = nullptr);
  // Writes to `writer` (for tests). `clock` is borrowed.
  SummaryHook(std::unique_ptr<SummaryWriter> writer, Clock* clock);

  absl::Status Begin(const HookContext& context) override;
  absl::Status AfterStep(const StepInfo& step) override;
  // Chief: histograms of the final values. Flushes the file.
  absl::Status End(const EndInfo& end) override;

  // eval/loss and (for a classifier) eval/accuracy at `global_step`. A write
  // error is handled as any other (on_summary_error); evaluation goes on.
  void AddEvalResult(int64_t global_step, const EvalMetrics& metrics);

  const SummaryWriter& writer() const { return *writer_; }

 private:
  absl::Status WriteScalars(int64_t global_step);
  absl::Status WriteHistograms(int64_t global_step, const std::vector<Tensor>& values);
  // The result of a write: a failure goes to errors_ (and is not an error of
  // the hook), except INVALID_ARGUMENT (bad data, not a bad disk).
  absl::Status Written(absl::Status status);

  const std::unique_ptr<SummaryWriter> writer_;
  Clock* const clock_;
  HookContext context_;
  std::unique_ptr<WriteErrors> errors_;  // from Begin
  int64_t variable_bytes_ = 0;    // payload of one pull (and of one push)
  int64_t next_summary_ = 0;      // global step of the next scalar summary
  int64_t next_histograms_ = -1;  // likewise for histograms; -1 = never
  bool images_written_ = false;
  int64_t local_steps_ = 0;

  // The window since the last scalar summary.
  absl::Time window_start_;
  int64_t window_start_step_ = 0;
  int64_t window_steps_ = 0;
  int64_t window_images_ = 0;
  double window_loss_ = 0;
  double window_step_seconds_ = 0;
  double window_input_wait_seconds_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_HOOKS_SUMMARY_HOOK_H_
