// tessera_worker --cluster=FILE --task=N --config=TRAIN.pbtxt [overrides]
//
// Runs worker task N: trains with the parameter servers of the cluster file
// (or of TF_CONFIG) until the global step reaches max_steps; worker 0 is the
// chief. Serves Admin on its own address. Exit 0 when training finished or was
// stopped (Admin Shutdown, SIGTERM, SIGINT); 1 with a message on error.
//
// Security (docs/security.md): --security_dir (or --tls_cert, --tls_key,
// --tls_ca, --token_file) secures its Admin server and its calls to the ps;
// off loopback it refuses to start without TLS and a token unless --insecure.

#include <cstdlib>
#include <iostream>
#include <optional>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "common/cluster/task_resolution.h"
#include "common/daemon_setup.h"
#include "common/logging.h"
#include "common/rpc/local_socket.h"
#include "common/rpc/security_config.h"
#include "common/status_macros.h"
#include "nn/blas_kernel.h"
#include "worker/train_config.h"
#include "worker/worker_daemon.h"

ABSL_FLAG(std::string, cluster, "", "cluster file (JSON); default: the TF_CONFIG variable");
ABSL_FLAG(int, task, -1, "index of this task in the cluster's worker job; default: TF_CONFIG's");
ABSL_FLAG(std::string, config, "", "training config (text TrainConfig), required");
ABSL_FLAG(std::optional<int64_t>, max_steps, std::nullopt, "override max_steps");
ABSL_FLAG(std::optional<int32_t>, batch_size, std::nullopt, "override batch_size");
ABSL_FLAG(std::optional<float>, learning_rate, std::nullopt, "override optimizer.learning_rate");
ABSL_FLAG(std::optional<std::string>, update_mode, std::nullopt, "override: async|sync|stale");
ABSL_FLAG(std::optional<uint64_t>, seed, std::nullopt, "override seed");
ABSL_FLAG(std::optional<std::string>, transport_encoding, std::nullopt,
          "override: float32|bfloat16 (a training step's pulls and pushes)");
ABSL_FLAG(std::optional<std::string>, summary_dir, std::nullopt,
          "override summary_dir: TensorBoard event files go to DIR/worker_<task>/");
ABSL_FLAG(std::optional<std::string>, checkpoint_dir, std::nullopt,
          "override checkpoint_dir: the chief saves checkpoints there and restores from it");
ABSL_FLAG(std::string, security_dir, "",
          "directory with ca.pem, cert.pem, key.pem and token (docs/security.md)");
ABSL_FLAG(std::string, tls_cert, "", "TLS certificate (PEM); default: SECURITY_DIR/cert.pem");
ABSL_FLAG(std::string, tls_key, "", "TLS private key (PEM); default: SECURITY_DIR/key.pem");
ABSL_FLAG(std::string, tls_ca, "",
          "CA (PEM) the ps and clients are verified against (mutual TLS); "
          "default: SECURITY_DIR/ca.pem");
ABSL_FLAG(std::string, token_file, "",
          "file holding the job token (mode 0600), sent and required on every call; "
          "default: SECURITY_DIR/token");
ABSL_FLAG(bool, insecure, false,
          "run without TLS and a token although the cluster is not all loopback");
ABSL_FLAG(std::string, local_socket_dir, "auto",
          "directory of the ps tasks' Unix domain sockets: a ps on this host is called through "
          "its socket there instead of TCP (no TLS; the job token is still sent); auto: "
          "/tmp/tessera-<uid>; none: TCP to every ps (docs/security.md, Local sockets)");
ABSL_FLAG(bool, shared_memory, true,
          "with local sockets: push and pull through memory shared with the ps of this host "
          "instead of the socket, when the ps takes it (docs/protocol.md, Shared memory)");
ABSL_FLAG(int, testonly_checkpoint_write_delay_ms, 0,
          "tests only: pause this long before committing each checkpoint (a window to kill the "
          "chief in mid-write)");

namespace tessera {
namespace {

int Run(const DaemonSetup& setup, std::optional<std::string> tf_config) {
  absl::StatusOr<ResolvedTask> task = ResolveTask(
      kWorkerJob, absl::GetFlag(FLAGS_cluster), absl::GetFlag(FLAGS_task), tf_config);
  if (!task.ok()) {
    std::cerr << "tessera_worker: " << task.status().message() << "\n";
    return 1;
  }
  SetLogPrefix(task->task.ToString());
  absl::Status result = [&]() -> absl::Status {
    if (absl::GetFlag(FLAGS_config).empty()) return absl::InvalidArgumentError("--config is required");
    TrainOverrides overrides{
        absl::GetFlag(FLAGS_max_steps),      absl::GetFlag(FLAGS_batch_size),
        absl::GetFlag(FLAGS_learning_rate),  absl::GetFlag(FLAGS_update_mode),
        absl::GetFlag(FLAGS_seed),           absl::GetFlag(FLAGS_summary_dir),
        absl::GetFlag(FLAGS_checkpoint_dir), absl::GetFlag(FLAGS_transport_encoding)};
    ASSIGN_OR_RETURN(TrainConfig config, LoadTrainConfig(absl::GetFlag(FLAGS_config), overrides));
    ASSIGN_OR_RETURN(SecurityConfig security,
                     LoadSecurityConfig({absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                                         absl::GetFlag(FLAGS_tls_ca), absl::GetFlag(FLAGS_token_file),
                                         absl::GetFlag(FLAGS_security_dir),
                                         absl::GetFlag(FLAGS_insecure)}));
    std::vector<std::string> addresses;
    for (const auto& [id, address] : task->cluster.AllTasks()) addresses.push_back(address);
    RETURN_IF_ERROR(CheckSecurityPolicy(security, addresses, task->task.ToString()));
    ASSIGN_OR_RETURN(
        std::string socket_dir,
        ResolveLocalSocketDir(absl::GetFlag(FLAGS_local_socket_dir), "local_socket_dir"));
    return RunWorkerDaemon(
        {*std::move(task), std::move(config), setup.LogLines(),
         absl::Milliseconds(absl::GetFlag(FLAGS_testonly_checkpoint_write_delay_ms)),
         std::move(security), std::move(socket_dir), absl::GetFlag(FLAGS_shared_memory)});
  }();
  if (!result.ok()) {  // "DEADLINE_EXCEEDED: Push to ps 0 at n1:2222: ..."
    LOG(ERROR) << absl::StatusCodeToString(result.code()) << ": " << result.message();
    return 1;
  }
  LOG(INFO) << "exiting";
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  tessera::EnsureBlasKernel(argc, argv, std::getenv);
  const tessera::DaemonSetup setup = tessera::SetUpDaemon(std::getenv);
  for (const auto& [name, value] : setup.environment) setenv(name.c_str(), value.c_str(), 0);
  absl::ParseCommandLine(argc, argv);
  std::optional<std::string> tf_config;
  if (const char* env = std::getenv("TF_CONFIG"); env != nullptr) tf_config = env;
  return tessera::Run(setup, std::move(tf_config));
}
