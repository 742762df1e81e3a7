// tessera_ps --cluster=FILE --task=N [--security_dir=DIR | --tls_cert= --tls_key=
//            --tls_ca= --token_file=] [--insecure]
//
// Security (docs/security.md): TLS with the given certificate (mutual when a
// CA is given) and the job token required on every call. Off loopback the ps
// refuses to start without TLS and a token, unless --insecure.
//
// Serves parameter-server task N of the cluster file (or of TF_CONFIG when
// --cluster is not given) until Admin.Shutdown, then exits 0. Bad flags or a
// bad cluster: a message on stderr and exit 1.
//
// Limits (docs/security.md): --max_bytes_held, --max_blocks,
// --max_block_bytes and --max_streams_per_peer cap what clients may make the
// ps hold and open; a request over one is RESOURCE_EXHAUSTED naming the flag.
//
// SIGTERM or SIGINT: the ps keeps serving while the job winds down (the
// chief's final checkpoint needs it), then exits 0: once no Pull, Snapshot
// or Push has begun for --quiet_secs, on Admin.Shutdown, or after
// --term_grace_secs at the latest.

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/cluster/cluster_spec.h"
#include "common/cluster/task_resolution.h"
#include "common/daemon_setup.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/rpc/local_socket.h"
#include "common/rpc/security_config.h"
#include "common/signal_watcher.h"
#include "common/status_macros.h"
#include "ps/ps_limits.h"
#include "ps/ps_server.h"

ABSL_FLAG(std::string, cluster, "", "cluster file (JSON); default: the TF_CONFIG variable");
ABSL_FLAG(int, task, -1, "index of this task in the cluster's ps job; default: TF_CONFIG's");
ABSL_FLAG(double, term_grace_secs, 30,
          "after SIGTERM/SIGINT, serve at most this long before exiting");
ABSL_FLAG(double, quiet_secs, 2,
          "after SIGTERM/SIGINT, exit once no request has begun for this long");
ABSL_FLAG(std::string, security_dir, "",
          "directory with ca.pem, cert.pem, key.pem and token (docs/security.md)");
ABSL_FLAG(std::string, tls_cert, "", "TLS certificate (PEM); default: SECURITY_DIR/cert.pem");
ABSL_FLAG(std::string, tls_key, "", "TLS private key (PEM); default: SECURITY_DIR/key.pem");
ABSL_FLAG(std::string, tls_ca, "",
          "CA (PEM) that clients' certificates must be signed by (mutual TLS); "
          "default: SECURITY_DIR/ca.pem");
ABSL_FLAG(std::string, token_file, "",
          "file holding the job token (mode 0600), required on every call; default: SECURITY_DIR/token");
ABSL_FLAG(bool, insecure, false,
          "serve without TLS and a token although the cluster is not all loopback");
ABSL_FLAG(std::string, local_socket_dir, "auto",
          "directory (mode 0700) of the Unix domain socket this ps also listens on for the "
          "workers of its host, which then skip TCP and TLS (the job token is still checked); "
          "auto: /tmp/tessera-<uid>; none: TCP only (docs/security.md, Local sockets)");
ABSL_FLAG(bool, shared_memory, true,
          "with a local socket: the workers of this host may move their pushes and pulls through "
          "memory they share with this ps (checked: same user, sealed) instead of the socket "
          "(docs/protocol.md, Shared memory)");
ABSL_FLAG(int64_t, max_bytes_held, 0,
          "bytes of variables, optimizer slots and SYNC buffers this ps may hold; "
          "0: 80% of physical memory (MemTotal of /proc/meminfo)");
ABSL_FLAG(int64_t, max_blocks, tessera::kDefaultMaxBlocks, "variable blocks this ps may hold");
ABSL_FLAG(int64_t, max_block_bytes, tessera::kDefaultMaxBlockBytes,
          "bytes of one block's values (elements x 4)");
ABSL_FLAG(int32_t, max_streams_per_peer, tessera::kDefaultMaxStreamsPerPeer,
          "Pull, Push and Snapshot streams one client host may have open at once");

namespace tessera {
namespace {

// The limit flags; --max_bytes_held=0 is kDefaultMaxBytesHeldPercent of
// `meminfo`'s MemTotal (/proc/meminfo, read only then).
absl::StatusOr<PsLimits> LimitsFromFlags(const std::string& meminfo_path) {
  PsLimits limits;
  limits.max_bytes_held = absl::GetFlag(FLAGS_max_bytes_held);
  limits.max_blocks = absl::GetFlag(FLAGS_max_blocks);
  limits.max_block_bytes = absl::GetFlag(FLAGS_max_block_bytes);
  limits.max_streams_per_peer = absl::GetFlag(FLAGS_max_streams_per_peer);
  if (limits.max_bytes_held < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_bytes_held must be >= 0 (0: ", kDefaultMaxBytesHeldPercent,
        "% of physical memory), got ", limits.max_bytes_held));
  }
  if (limits.max_bytes_held == 0) {
    absl::StatusOr<std::string> meminfo = ReadFileToString(meminfo_path);
    absl::StatusOr<int64_t> mem_total =
        meminfo.ok() ? ParseMemTotal(*meminfo) : absl::StatusOr<int64_t>(meminfo.status());
    if (!mem_total.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--max_bytes_held=0 takes ", kDefaultMaxBytesHeldPercent, "% of MemTotal, but ",
          meminfo_path, ": ", mem_total.status().message(), "; give --max_bytes_held in bytes"));
    }
    limits.max_bytes_held = DefaultMaxBytesHeld(*mem_total);
  }
  RETURN_IF_ERROR(ValidatePsLimits(limits));
  return limits;
}

absl::StatusOr<PsServerOptions> OptionsFromFlags(std::optional<std::string> tf_config) {
  PsServerOptions options;
  ASSIGN_OR_RETURN(options.limits, LimitsFromFlags("/proc/meminfo"));
  ASSIGN_OR_RETURN(ResolvedTask task, ResolveTask(kPsJob, absl::GetFlag(FLAGS_cluster),
                                                  absl::GetFlag(FLAGS_task), tf_config));
  options.task = task.task.index;
  options.address = task.address;
  options.listen_address = task.listen_address;
  ASSIGN_OR_RETURN(options.security,
                   LoadSecurityConfig({absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                                       absl::GetFlag(FLAGS_tls_ca), absl::GetFlag(FLAGS_token_file),
                                       absl::GetFlag(FLAGS_security_dir),
                                       absl::GetFlag(FLAGS_insecure)}));
  std::vector<std::string> addresses;
  for (const auto& [id, address] : task.cluster.AllTasks()) addresses.push_back(address);
  RETURN_IF_ERROR(CheckSecurityPolicy(options.security, addresses, task.task.ToString()));
  ASSIGN_OR_RETURN(
      const std::string socket_dir,
      ResolveLocalSocketDir(absl::GetFlag(FLAGS_local_socket_dir), "local_socket_dir"));
  options.local_socket = LocalSocketPathFor(socket_dir, options.task, task.address);
  options.shared_memory = absl::GetFlag(FLAGS_shared_memory);
  return options;
}

int Run(const DaemonSetup& setup, std::optional<std::string> tf_config) {
  absl::StatusOr<PsServerOptions> options = OptionsFromFlags(std::move(tf_config));
  if (!options.ok()) {
    std::cerr << "tessera_ps: " << options.status().message() << "\n";
    return 1;
  }
  SetLogPrefix(absl::StrCat("ps:", options->task));
  absl::StatusOr<std::unique_ptr<PsServer>> server = PsServer::Create(*options);
  if (!server.ok()) {
    LOG(ERROR) << server.status().message();
    return 1;
  }
  for (const std::string& line : setup.LogLines()) LOG(INFO) << line;
  LOG(INFO) << DescribeSecurity(options->security);
  LOG(INFO) << "limits: " << DescribePsLimits(options->limits) << " (docs/security.md, Limits)";
  LOG(INFO) << "serving on " << (*server)->address() << " (listening on " << options->listen_address
            << (options->local_socket.empty()
                    ? std::string()
                    : absl::StrCat(", and on ", options->local_socket, " for this host's workers"))
            << "), incarnation " << std::hex << (*server)->store()->incarnation();
  const absl::Duration quiet = absl::Seconds(absl::GetFlag(FLAGS_quiet_secs));
  const absl::Duration grace = absl::Seconds(absl::GetFlag(FLAGS_term_grace_secs));
  PsServer* ps = server->get();
  SignalWatcher watcher([ps, quiet, grace](int signal) {
    LOG(INFO) << "signal " << signal << ": exiting once no request has begun for "
              << absl::FormatDuration(quiet) << " (at most " << absl::FormatDuration(grace) << ")";
    ps->ShutDownWhenQuiet(absl::StrCat("signal ", signal), quiet, grace);
  });
  ps->Wait();
  watcher.Stop();
  LOG(INFO) << "stopped";
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  const tessera::DaemonSetup setup = tessera::SetUpDaemon(std::getenv);
  for (const auto& [name, value] : setup.environment) setenv(name.c_str(), value.c_str(), 0);
  absl::ParseCommandLine(argc, argv);
  std::optional<std::string> tf_config;
  if (const char* env = std::getenv("TF_CONFIG"); env != nullptr) tf_config = env;
  return tessera::Run(setup, std::move(tf_config));
}
