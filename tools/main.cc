// tessera_ctl: status, wait, shutdown and task listing for a Tessera cluster;
// make-cluster and launch-role for batch systems; checkpoints; model summaries.
// See kCtlUsage in command_line.cc and docs/operations.md.

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/clock.h"
#include "common/cluster/cluster_spec.h"
#include "common/admin/admin_client.h"
#include "common/rpc/security_config.h"
#include "tools/ckpt_command.h"
#include "tools/launch_commands.h"
#include "tools/model_command.h"
#include "tools/command_line.h"
#include "tools/ctl_commands.h"

extern char** environ;

ABSL_FLAG(std::string, cluster, "", "cluster file (JSON)");
ABSL_FLAG(bool, json, false, "status: print one JSON object instead of the table");
ABSL_FLAG(double, timeout, tessera::kTimeoutNotGiven,
          "status, shutdown: seconds per task (default 2); wait: seconds in all");
ABSL_FLAG(std::string, for, "", "wait: ready or done");
ABSL_FLAG(std::string, job, "", "only the tasks of this job: ps, worker or evaluator");
ABSL_FLAG(std::string, security_dir, "",
          "status, wait, shutdown: directory with ca.pem, cert.pem, key.pem and token");
ABSL_FLAG(std::string, tls_cert, "", "client certificate (PEM); default: SECURITY_DIR/cert.pem");
ABSL_FLAG(std::string, tls_key, "", "client key (PEM); default: SECURITY_DIR/key.pem");
ABSL_FLAG(std::string, tls_ca, "",
          "CA (PEM) the tasks are verified against (TLS); default: SECURITY_DIR/ca.pem");
ABSL_FLAG(std::string, token_file, "", "job token file (mode 0600); default: SECURITY_DIR/token");

namespace {

int UsageError(absl::string_view message) {
  std::cerr << "tessera_ctl: " << message << "\n\n" << tessera::kCtlUsage;
  return 2;
}

int Failure(const absl::Status& status) {
  std::cerr << "tessera_ctl: " << status.message() << "\n";
  return 1;
}

// The process environment, for launch-role (the only reader of it).
tessera::EnvironmentMap Environment() {
  tessera::EnvironmentMap env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text = *entry;
    size_t eq = text.find('=');
    if (eq != std::string::npos) env.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return env;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(tessera::kCtlUsage);
  if (tessera::WantsHelp(argc, argv)) {
    std::cout << tessera::kCtlUsage;
    return 0;
  }
  // ckpt, model, make-cluster and launch-role have arguments of their own:
  // they are dispatched before parsing.
  if (argc >= 2 && std::string(argv[1]) == "ckpt") {
    return tessera::RunCkptCommand({argv + 2, argv + argc}, std::cout, std::cerr);
  }
  if (argc >= 2 && std::string(argv[1]) == "model") {
    return tessera::RunModelCommand({argv + 2, argv + argc}, std::cout, std::cerr);
  }
  if (argc >= 2 && std::string(argv[1]) == "make-cluster") {
    return tessera::RunMakeCluster({argv + 2, argv + argc}, std::cout, std::cerr);
  }
  if (argc >= 2 && std::string(argv[1]) == "launch-role") {
    return tessera::RunLaunchRole({argv + 2, argv + argc}, Environment(),
                                  tessera::LocalHostNames(), std::cout, std::cerr);
  }
  absl::Status syntax = tessera::CheckFlagSyntax(argc, argv);
  if (!syntax.ok()) return UsageError(syntax.message());
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  tessera::FlagValues flags{absl::GetFlag(FLAGS_cluster), absl::GetFlag(FLAGS_json),
                            absl::GetFlag(FLAGS_timeout), absl::GetFlag(FLAGS_for),
                            absl::GetFlag(FLAGS_job)};
  auto options = tessera::MakeCtlOptions({args.begin() + 1, args.end()}, flags);
  if (!options.ok()) return UsageError(options.status().message());

  auto cluster = tessera::ClusterSpec::FromFile(options->cluster);
  if (!cluster.ok()) return Failure(cluster.status());
  auto tasks = tessera::SelectTasks(*cluster, options->job);
  if (!tasks.ok()) return Failure(tasks.status());

  auto security = tessera::LoadSecurityConfig(
      {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key), absl::GetFlag(FLAGS_tls_ca),
       absl::GetFlag(FLAGS_token_file), absl::GetFlag(FLAGS_security_dir), false});
  if (!security.ok()) return Failure(security.status());

  absl::Status result;
  std::unique_ptr<tessera::ClusterAdmin> admin = tessera::NewGrpcClusterAdmin(*security);
  switch (options->command) {
    case tessera::Command::kTasks:
      tessera::RunTasks(*tasks, std::cout);
      break;
    case tessera::Command::kStatus:
      result = tessera::RunStatus(*admin, *tasks, options->rpc_timeout, options->json, std::cout);
      break;
    case tessera::Command::kWait:
      result = tessera::RunWait(*admin, tessera::RealClock::Get(), *tasks, options->wait,
                                std::cout);
      break;
    case tessera::Command::kShutdown:
      result = tessera::RunShutdown(*admin, *tasks, "requested by tessera_ctl shutdown",
                                    options->rpc_timeout, std::cout);
      break;
  }
  return result.ok() ? 0 : Failure(result);
}
