#ifndef TESSERA_WORKER_WORKER_H_
#define TESSERA_WORKER_WORKER_H_

// One worker's whole life (DESIGN.md, Worker loop and chief):
//
//   1. connect to every ps; the chief creates and initializes the variables,
//      the others wait for that, saying what they wait for;
//   2. loop: pull every variable from every ps in parallel, forward and
//      backward on this worker's next batch, push the gradients in parallel,
//      until the global step reaches max_steps;
//   3. tell ps 0 it is done; the chief then waits for every worker, evaluates
//      on the test set, logs the final figures and shuts the ps tasks down.
//
// Run() is called once, from one thread; RequestStop() may be called from any
// thread (Admin Shutdown, SIGTERM) and ends the loop after the current step.

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "common/cluster_spec.h"
#include "common/tensor.h"
#include "data/dataset.h"
#include "nn/model.h"
#include "protos/train_config.pb.h"
#include "worker/ps_group.h"
#include "worker/worker_status.h"

namespace tessera {

struct WorkerOptions {
  int task = 0;
  // How long the chief waits for the other workers to report done before it
  // shuts the ps tasks down anyway (naming the missing workers).
  absl::Duration wait_for_workers = absl::Minutes(10);
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

  // Runs to the end. OK when training finished (or was stopped on request).
  absl::Status Run();
  void RequestStop() { stop_requested_ = true; }

  bool is_chief() const { return options_.task == 0; }

 private:
  Worker(const ClusterSpec& cluster, const TrainConfig& config, const WorkerOptions& options,
         WorkerStatus* status);
  absl::Status Initialize();
  absl::Status TrainLoop();
  absl::Status FinishAsChief();
  void LogFinalValues() const;

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
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;
  int64_t global_step_ = 0;
  float last_loss_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_WORKER_H_
