// tessera_ps --cluster=FILE --task=N
//
// Serves parameter-server task N of the cluster file (or of TF_CONFIG when
// --cluster is not given) until Admin.Shutdown, then exits 0. Bad flags or a
// bad cluster: a message on stderr and exit 1.

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "common/cluster_spec.h"
#include "common/task_resolution.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "ps/ps_server.h"

ABSL_FLAG(std::string, cluster, "", "cluster file (JSON); default: the TF_CONFIG variable");
ABSL_FLAG(int, task, -1, "index of this task in the cluster's ps job; default: TF_CONFIG's");

namespace tessera {
namespace {

absl::StatusOr<PsServerOptions> OptionsFromFlags() {
  std::optional<std::string> tf_config;
  if (const char* env = std::getenv("TF_CONFIG"); env != nullptr) tf_config = env;
  ASSIGN_OR_RETURN(ResolvedTask task, ResolveTask(kPsJob, absl::GetFlag(FLAGS_cluster),
                                                  absl::GetFlag(FLAGS_task), tf_config));
  PsServerOptions options;
  options.task = task.task.index;
  options.address = task.address;
  options.listen_address = task.listen_address;
  return options;
}

int Run() {
  absl::StatusOr<PsServerOptions> options = OptionsFromFlags();
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
  LOG(INFO) << "serving on " << (*server)->address() << " (listening on "
            << options->listen_address << "), incarnation " << std::hex
            << (*server)->store()->incarnation();
  (*server)->Wait();
  LOG(INFO) << "stopped";
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tessera::Run();
}
