#include "worker/worker_daemon.h"

#include <atomic>
#include <memory>

#include "common/clock.h"
#include "common/logging.h"
#include "common/signal_watcher.h"
#include "nn/blas_kernel.h"
#include "worker/worker.h"
#include "worker/worker_server.h"
#include "worker/worker_status.h"

namespace tessera {
namespace {

absl::Status Train(const WorkerDaemonOptions& options, WorkerStatus* status) {
  const ResolvedTask& task = options.task;
  // Admin Shutdown may come before the worker exists; it stops it once it does.
  std::atomic<Worker*> running{nullptr};
  std::atomic<bool> stop{false};
  absl::StatusOr<std::unique_ptr<WorkerServer>> server = WorkerServer::Create(
      task.task.index, task.listen_address, task.address, [status] { return status->Snapshot(); },
      [&](const std::string&) {
        stop = true;
        if (Worker* w = running.load()) w->RequestStop();
      });
  if (!server.ok()) return server.status();
  for (const std::string& line : options.setup_log_lines) LOG(INFO) << line;
  LOG(INFO) << "serving Admin on " << task.address << "; OpenBLAS kernel " << BlasKernelName();

  WorkerOptions worker_options{task.task.index};
  worker_options.checkpoint_write_delay = options.checkpoint_write_delay;
  absl::StatusOr<std::unique_ptr<Worker>> worker =
      Worker::Create(task.cluster, options.config, worker_options, status);
  if (!worker.ok()) return worker.status();
  running = worker->get();
  if (stop) (*worker)->RequestStop();
  SignalWatcher watcher([w = worker->get()](int signal) {
    LOG(INFO) << "signal " << signal << ": stopping after this step";
    w->RequestStop();
  });
  absl::Status result = (*worker)->Run();
  watcher.Stop();
  return result;
}

}  // namespace

absl::Status RunWorkerDaemon(const WorkerDaemonOptions& options) {
  StatusResponse identity;
  identity.set_job(kWorkerJob);
  identity.set_task(options.task.task.index);
  identity.set_address(options.task.address);
  identity.set_version("dev");
  identity.set_blas_kernel(BlasKernelName());
  WorkerStatus status(RealClock::Get(), identity);
  absl::Status result = Train(options, &status);
  if (!result.ok()) {
    status.SetState("error");
    status.SetError(result.message());
  }
  return result;
}

}  // namespace tessera
