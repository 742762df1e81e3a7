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
//
// Its parts (clock, ps connections, cluster admin, data) come in through
// WorkerParts: Create() uses the real ones (gRPC, the real clock, files);
// tests pass an in-memory ps (test/in_memory_ps.h), a fake clock and a fake
// ClusterAdmin to CreateFromParts().

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/admin/cluster_admin.h"
#include "common/clock.h"
#include "common/cluster/cluster_spec.h"
#include "common/dataset.h"
#include "common/file_system.h"
#include "common/rpc/security_config.h"
#include "common/rpc/shared_segment.h"
#include "common/tensor.h"
#include "data/input.h"
#include "data/load_dataset.h"
#include "nn/model.h"
#include "protos/train_config.pb.h"
#include "worker/ps_connection.h"
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
  // TLS and the job token of Create()'s ps and admin channels.
  SecurityConfig security;
  // Create(): the ps tasks of this host are called through their local
  // sockets in this directory (PsClientOptions::local_socket_dir). Empty: TCP.
  std::string local_socket_dir;
  // With local sockets: push and pull through memory shared with the ps
  // (PsClientOptions::shared_memory).
  bool shared_memory = true;
};

// What a worker works with besides its configuration.
struct WorkerParts {
  // Borrowed, must outlive the worker: every wait, deadline, step time,
  // checkpoint schedule and summary time. RealClock::Get() when null.
  Clock* clock = nullptr;
  // Makes one connection per ps task of the cluster, in task order (called
  // once, by CreateFromParts). `cancelled` (borrowed, lives as long as the
  // worker) turns true on RequestStop: from then on a ps that is UNAVAILABLE
  // must not be waited for.
  std::function<absl::StatusOr<std::vector<std::unique_ptr<PsConnection>>>(
      const std::atomic<bool>* cancelled)>
      connect_ps;
  // The chief's admin calls: ps 0's status (which workers are done) and
  // Shutdown of the ps tasks at the end. Required on the chief.
  std::unique_ptr<ClusterAdmin> admin;
  // Loads a split of an in-memory config.data() (idx, csv, inline_data);
  // LoadDataset (data/load_dataset.h) when null. Image shards are streamed
  // (data/input.h) and do not use it.
  DatasetLoader load_data;
  // Where checkpoints and summaries are written (tests inject disk faults,
  // common/fault_file_system.h). Borrowed; DefaultFileSystem() when null.
  FileSystem* file_system = nullptr;
};

class Worker {
 public:
  // CreateFromParts with the real parts: gRPC connections to the cluster's
  // ps tasks (worker/ps_client.h), the gRPC ClusterAdmin, the real clock and
  // LoadDataset.
  static absl::StatusOr<std::unique_ptr<Worker>> Create(const ClusterSpec& cluster,
                                                        const TrainConfig& config,
                                                        const WorkerOptions& options,
                                                        WorkerStatus* status);
  // Loads the data (this worker's part of the training set; the test set for
  // the chief), builds the model and the placement plan, connects to the ps
  // tasks and adds the standard hooks (checkpoints and evaluation on the
  // chief, summaries, memory). `cluster` and `config` are copied; `status`
  // is borrowed and must outlive the worker. INVALID_ARGUMENT when a part
  // is missing (connect_ps; admin on the chief).
  static absl::StatusOr<std::unique_ptr<Worker>> CreateFromParts(const ClusterSpec& cluster,
                                                                 const TrainConfig& config,
                                                                 const WorkerOptions& options,
                                                                 WorkerStatus* status,
                                                                 WorkerParts parts);

  // Adds a hook (before Run). Create() adds the evaluation hook on the chief
  // and, when summary_dir is set, the summary hook (summary_hook.h).
  void AddHook(std::unique_ptr<TrainingHook> hook) { hooks_.push_back(std::move(hook)); }

  // Runs to the end. OK when training finished (or was stopped on request).
  // When a hook stopped the job (HookContext::stop_job: a failed write under
  // STOP_JOB), the hook's error, after every other task was asked to shut down.
  absl::Status Run();
  void RequestStop() { stop_requested_ = true; }

  bool is_chief() const { return options_.task == 0; }

 private:
  Worker(const ClusterSpec& cluster, const TrainConfig& config, const WorkerOptions& options,
         WorkerStatus* status, Clock* clock, std::unique_ptr<ClusterAdmin> admin);
  absl::Status Initialize();
  absl::Status TrainLoop();
  // What the training loop does after a step's pull ended with `pulled`.
  enum class StepEnd {
    kGo,    // OK: train the step
    kStop,  // stopping on request (logged)
    kRedo,  // a ps was recovered (wait_version reset) or the pull broke: pull again
  };
  // kGo for OK; a ps that lost its variables is recovered (kRedo); an
  // overlapped pull that broke after blocks were in use (ABORTED) is redone,
  // up to kMaxBrokenPulls times in a row; other errors are returned.
  absl::StatusOr<StepEnd> PulledOrRecovered(const absl::Status& pulled, int64_t* wait_version);
  // A ps reads this worker's pushed gradients from the memory it shares with
  // the worker (SYNC: when the step completes, SyncAccumulator::AddBorrowed),
  // and the worker's next backward pass writes them only after its push
  // returned and its pull saw the step applied. When the next step does not
  // wait for that (after a ps restart or recovery, or a step redone after an
  // abandoned push), the tensors move to new shared memory first, and the
  // connections make new segments, so that no push a ps may still read
  // changes under it.
  void RenewSharedTensors();
  // Fills `values` and `grads` with zeroed tensors of the variables' shapes:
  // in memory shared with the ps of this host when a connection can share
  // it (returned, logged), else in this process's own (null).
  std::shared_ptr<SharedMemory> MakeTensors(std::vector<Tensor>* values,
                                            std::vector<Tensor>* grads) const;
  int broken_pulls_ = 0;  // in a row
  // This worker's share of the global steps already done (global step /
  // workers): the batches of its part a resumed job has trained on.
  absl::StatusOr<int64_t> BatchesDone();
  // Chief: waits (bounded) for every worker to report done.
  void WaitForWorkers();
  // Chief: asks every ps task to shut down.
  void ShutDownPs();
  // Asks every other task of the cluster to shut down, giving `reason`: the
  // workers first, then the ps tasks.
  void ShutDownOthers(const std::string& reason);
  // Asks `tasks` to shut down, up to three times each.
  void ShutDownTasks(std::vector<TaskTarget> tasks, const std::string& reason);
  // HookContext::stop_job.
  void StopJob(const absl::Status& error);
  HookContext MakeHookContext();

  const ClusterSpec cluster_;
  const TrainConfig config_;
  const WorkerOptions options_;
  WorkerStatus* const status_;
  Clock* const clock_;
  const std::unique_ptr<ClusterAdmin> admin_;  // null on a non-chief worker's test parts
  std::atomic<bool> stop_requested_{false};
  absl::Mutex job_error_mu_;
  absl::Status job_error_ ABSL_GUARDED_BY(job_error_mu_);  // StopJob's

  std::unique_ptr<Model> model_;
  std::unique_ptr<InputData> input_;  // test set on the chief only
  std::vector<VariableInfo> variables_;
  std::unique_ptr<PsGroup> ps_;
  std::unique_ptr<PsRecovery> recovery_;  // initialization, restore, ps recovery
  // What values_ and grads_ live in when a ps of this host shares memory
  // (worker/tensor_memory.h); destroyed after them.
  std::shared_ptr<SharedMemory> tensor_memory_;
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;
  std::vector<std::unique_ptr<TrainingHook>> hooks_;
  int64_t global_step_ = 0;
  float last_loss_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_WORKER_H_
