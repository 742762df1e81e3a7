#ifndef TESSERA_WORKER_TRAINING_HOOK_H_
#define TESSERA_WORKER_TRAINING_HOOK_H_

// Hooks into the worker's training loop, in the spirit of TensorFlow's
// SessionRunHook: evaluation, checkpoints and summaries each live in a hook of
// their own instead of in the loop. The worker calls every hook from its
// training thread, in registration order; a hook's error ends training with
// that error.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "common/dataset.h"
#include "data/batch_stream.h"
#include "common/cluster/cluster_spec.h"
#include "common/cluster/placement.h"
#include "common/tensor.h"
#include "nn/model.h"
#include "protos/train_config.pb.h"

namespace tessera {

class PsGroup;
class WorkerStatus;

// What a hook may use; everything is borrowed from the worker and lives as
// long as it.
struct HookContext {
  const TrainConfig* config = nullptr;
  const ClusterSpec* cluster = nullptr;
  int task = 0;
  bool is_chief = false;
  const std::vector<VariableInfo>* variables = nullptr;  // model order
  Model* model = nullptr;       // one thread at a time: only from hook calls
  PsGroup* ps = nullptr;        // likewise
  WorkerStatus* status = nullptr;
  // A new pass over the test set (chief with evaluation), else null.
  std::function<absl::StatusOr<std::unique_ptr<BatchStream>>()> open_test;
  // Stops the job because of `error` (a write failed under STOP_JOB,
  // worker/hooks/write_errors.h): the worker ends training after this step,
  // runs every hook's End, asks every other task to shut down and returns
  // `error` from Run. Thread-safe; the first call's error wins. Null in tests
  // that do not need it.
  std::function<void(const absl::Status& error)> stop_job;
};

// One finished training step.
struct StepInfo {
  int64_t global_step = 0;  // after this step's push
  int64_t local_step = 0;   // steps this worker ran, this one included
  float loss = 0;
  int64_t batch_size = 0;
  double step_seconds = 0;  // pull + input + compute + push
  double input_wait_seconds = 0;  // of which waiting for the batch
  // Variable values this step computed its gradients from (model order).
  const std::vector<Tensor>* values = nullptr;
  // The batch this step trained on (e.g. for image summaries).
  const Dataset* batch = nullptr;
};

// The end of training.
struct EndInfo {
  int64_t global_step = 0;
  bool stopped_early = false;  // stop requested (signal, Admin Shutdown)
  // Final values pulled from the ps tasks (chief, after every worker finished),
  // or the last values this worker saw.
  const std::vector<Tensor>* values = nullptr;
};

class TrainingHook {
 public:
  virtual ~TrainingHook() = default;
  // After the variables are initialized (or restored), before the first step.
  virtual absl::Status Begin(const HookContext& context) { return absl::OkStatus(); }
  virtual absl::Status AfterStep(const StepInfo& step) { return absl::OkStatus(); }
  virtual absl::Status End(const EndInfo& end) { return absl::OkStatus(); }
};

}  // namespace tessera

#endif  // TESSERA_WORKER_TRAINING_HOOK_H_
