#ifndef TESSERA_WORKER_WORKER_DAEMON_H_
#define TESSERA_WORKER_WORKER_DAEMON_H_

// The life of a tessera_worker process once main() has read its flags: serve
// Admin on the task's address, build the Worker, train until the global step
// reaches max_steps or a stop is asked for (Admin Shutdown before or during
// training, SIGTERM, SIGINT: the step in progress finishes), and report an
// error in status before returning it.
//
//   ASSIGN_OR_RETURN(ResolvedTask task, ResolveTask(...));
//   RETURN_IF_ERROR(RunWorkerDaemon({task, config, setup.LogLines()}));
//
// Call once per process (it installs the signal handlers).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/cluster/task_resolution.h"
#include "common/rpc/security_config.h"
#include "protos/train_config.pb.h"

namespace tessera {

struct WorkerDaemonOptions {
  ResolvedTask task;
  TrainConfig config;
  // What the process set up before (common/daemon_setup.h), logged once the
  // Admin server runs.
  std::vector<std::string> setup_log_lines;
  // Tests only: CheckpointSaverOptions::write_delay of the chief's checkpoints.
  absl::Duration checkpoint_write_delay = absl::ZeroDuration();
  // The Admin server's and the ps and admin clients' TLS and job token.
  SecurityConfig security;
  // WorkerOptions::local_socket_dir.
  std::string local_socket_dir;
  // WorkerOptions::shared_memory.
  bool shared_memory = true;
};

// OK when training finished or was stopped on request; otherwise the error
// that ended it (a port in use, bad data, a ps that never came, ...).
absl::Status RunWorkerDaemon(const WorkerDaemonOptions& options);

}  // namespace tessera

#endif  // TESSERA_WORKER_WORKER_DAEMON_H_
