#include "common/cluster/task_resolution.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tessera {

absl::StatusOr<ResolvedTask> ResolveTask(absl::string_view job, const std::string& cluster_file,
                                         int task_flag,
                                         const std::optional<std::string>& tf_config) {
  TaskId task{std::string(job), task_flag};
  absl::StatusOr<ClusterSpec> cluster = absl::InvalidArgumentError("no cluster");
  if (!cluster_file.empty()) {
    cluster = ClusterSpec::FromFile(cluster_file);
  } else if (tf_config.has_value()) {
    ASSIGN_OR_RETURN(TfConfig config, ParseTfConfig(*tf_config));
    if (task.index < 0) {
      if (config.task.job != job) {
        return absl::InvalidArgumentError(absl::StrCat("TF_CONFIG names task ",
                                                       config.task.ToString(), ", not a ", job,
                                                       " task; pass --task"));
      }
      task.index = config.task.index;
    }
    cluster = std::move(config.cluster);
  } else {
    return absl::InvalidArgumentError("--cluster=FILE is required (or set TF_CONFIG)");
  }
  RETURN_IF_ERROR(cluster.status());
  if (task.index < 0) return absl::InvalidArgumentError("--task=N is required");
  RETURN_IF_ERROR(cluster->ValidateTask(task));
  ASSIGN_OR_RETURN(std::string address, cluster->TaskAddress(task));
  ASSIGN_OR_RETURN(auto host_port, ParseHostPort(address));
  return ResolvedTask{*std::move(cluster), std::move(task), address,
                      absl::StrCat("0.0.0.0:", host_port.second)};
}

}  // namespace tessera
