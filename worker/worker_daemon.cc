#include "worker/worker_daemon.h"

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/signal_watcher.h"
#include "nn/blas_kernel.h"
#include "worker/worker.h"
#include "worker/worker_server.h"
#include "worker/worker_status.h"

namespace tessera {
namespace {

// Passes Admin Shutdown on to the Worker, whether it comes before the Worker
// exists, while it trains, or after it is gone. Thread-safe.
class StopRelay {
 public:
  void RequestStop() {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (worker_ != nullptr) worker_->RequestStop();
  }
  // `worker` (borrowed; null to detach) gets a stop asked for before.
  void Attach(Worker* worker) {
    absl::MutexLock lock(&mu_);
    worker_ = worker;
    if (stop_ && worker_ != nullptr) worker_->RequestStop();
  }

 private:
  absl::Mutex mu_;
  Worker* worker_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

absl::Status Train(const WorkerDaemonOptions& options, WorkerStatus* status, StopRelay* relay) {
  WorkerOptions worker_options;
  worker_options.task = options.task.task.index;
  worker_options.checkpoint_write_delay = options.checkpoint_write_delay;
  worker_options.security = options.security;
  worker_options.local_socket_dir = options.local_socket_dir;
  worker_options.shared_memory = options.shared_memory;
  absl::StatusOr<std::unique_ptr<Worker>> worker =
      Worker::Create(options.task.cluster, options.config, worker_options, status);
  if (!worker.ok()) return worker.status();
  relay->Attach(worker->get());
  SignalWatcher watcher([w = worker->get()](int signal) {
    LOG(INFO) << "signal " << signal << ": stopping after this step";
    w->RequestStop();
  });
  absl::Status result = (*worker)->Run();
  watcher.Stop();
  relay->Attach(nullptr);  // before the Worker goes
  return result;
}

}  // namespace

absl::Status RunWorkerDaemon(const WorkerDaemonOptions& options) {
  const ResolvedTask& task = options.task;
  StatusResponse identity;
  identity.set_job(kWorkerJob);
  identity.set_task(task.task.index);
  identity.set_address(task.address);
  identity.set_version("dev");
  identity.set_blas_kernel(BlasKernelName());
  identity.set_security(SecurityStatus(options.security));
  // Both outlive the server, whose Admin handlers use them.
  WorkerStatus status(RealClock::Get(), identity);
  StopRelay relay;
  absl::StatusOr<std::unique_ptr<WorkerServer>> server = WorkerServer::Create(
      task.task.index, task.listen_address, task.address, [&status] { return status.Snapshot(); },
      [&relay](const std::string&) { relay.RequestStop(); }, options.security);
  if (!server.ok()) return server.status();
  for (const std::string& line : options.setup_log_lines) LOG(INFO) << line;
  LOG(INFO) << DescribeSecurity(options.security);
  LOG(INFO) << "serving Admin on " << task.address << "; OpenBLAS kernel " << BlasKernelName();
  absl::Status result = Train(options, &status, &relay);
  if (!result.ok()) {  // while Admin still serves, so status can show it
    status.SetState("error");
    status.SetError(result.message());
  }
  return result;
}

}  // namespace tessera
