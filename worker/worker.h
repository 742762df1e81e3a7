#ifndef TESSERA_WORKER_WORKER_H_
#define TESSERA_WORKER_WORKER_H_

// One worker's whole life (DESIGN.md, Worker loop and chief):
//
//   1. connect to every ps; the chief creates and initializes the variables,
//      the others wait for that, saying what they wait for;
//   2. loop: pull every variable from every ps in parallel, forward and
//      backward on this worker's next batch, push the gradients in parallel,
//      until the global step reaches max_steps;
//   3. tell ps 0 it is done; the chief then waits for every worker, pulls the
//      final values, runs the hooks' End (evaluation, ...) and shuts the ps
//      tasks down.
//
// Evaluation, checkpoints and summaries are TrainingHooks (training_hook.h).
//
// Run() is called once, from one thread; RequestStop() may be called from any
// thread (Admin Shutdown, SIGTERM) and ends the loop after the current step.

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "common/cluster/cluster_spec.h"
#include "common/tensor.h"
#include "data/batch_iterator.h"
#include "data/dataset.h"
#include "nn/model.h"
#include "protos/train_config.pb.h"
#include "worker/ps_group.h"
#include "worker/ps_recovery.h"
#include "worker/training_hook.h"
#include "worker/worker_status.h"

namespace tessera {

struct WorkerOptions {
  int task = 0;
  // How long the chief waits for the other workers to report done before it
  // shuts the ps tasks down anyway (naming the missing workers).
  absl::Duration wait_for_workers = absl::Minutes(10);
  // Tests only: CheckpointSaverOptions::write_delay of the chief's checkpoints.
  absl::Duration checkpoint_write_delay = absl::ZeroDuration();
};

class Worker {
 public:
  // Loads the data (this worker's part of the training set; the test set for
  // the chief), builds the model and the placement plan. `cluster` and
  // `config` are copied; `status` is borrowed and must outlive the worker.
  static absl::StatusOr<std::unique_ptr<Worker>> Create(const ClusterSpec& cluster,
                                                        const TrainConfig& config,
                                                        const WorkerOptions& options,
                                                        WorkerStatus* status);

  // Adds a hook (before Run). Create() adds the evaluation hook on the chief
  // and, when summary_dir is set, the summary hook (summary_hook.h).
  void AddHook(std::unique_ptr<TrainingHook> hook) { hooks_.push_back(std::move(hook)); }

  // Runs to the end. OK when training finished (or was stopped on request).
  absl::Status Run();
  void RequestStop() { stop_requested_ = true; }

  bool is_chief() const { return options_.task == 0; }

 private:
  Worker(const ClusterSpec& cluster, const TrainConfig& config, const WorkerOptions& options,
         WorkerStatus* status);
  absl::Status Initialize();
  absl::Status TrainLoop();
  // Advances `batches` past this worker's share of the global steps already
  // done (global step / workers), so a resumed job continues the data order;
  // returns the batches skipped.
  absl::StatusOr<int64_t> SkipBatchesDone(BatchIterator* batches, Batch* batch);
  // Chief: waits (bounded) for every worker to report done.
  void WaitForWorkers();
  // Chief: asks every ps task to shut down.
  void ShutDownPs();
  HookContext MakeHookContext();

  const ClusterSpec cluster_;
  const TrainConfig config_;
  const WorkerOptions options_;
  WorkerStatus* const status_;
  std::atomic<bool> stop_requested_{false};

  std::unique_ptr<Model> model_;
  Dataset train_;
  Dataset test_;  // chief only
  std::vector<VariableInfo> variables_;
  std::unique_ptr<PsGroup> ps_;
  std::unique_ptr<PsRecovery> recovery_;  // initialization, restore, ps recovery
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;
  std::vector<std::unique_ptr<TrainingHook>> hooks_;
  int64_t global_step_ = 0;
  float last_loss_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_WORKER_H_
