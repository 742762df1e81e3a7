#ifndef TESSERA_COMMON_CLUSTER_TASK_RESOLUTION_H_
#define TESSERA_COMMON_CLUSTER_TASK_RESOLUTION_H_

// Which task a daemon is, from its flags or from TF_CONFIG: the part of every
// daemon's main() that turns --cluster / --task (or the TF_CONFIG variable's
// text, which main reads and passes in) into a validated cluster, task and
// listen address. Pure; thread-safe.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/cluster/cluster_spec.h"

namespace tessera {

struct ResolvedTask {
  ClusterSpec cluster;
  TaskId task;
  std::string address;         // as the cluster file gives it, "n1:2222"
  std::string listen_address;  // "0.0.0.0:2222": every interface, the task's port
};

// `job` is the daemon's job ("ps" or "worker"). `cluster_file` wins over
// `tf_config`; `task_flag` < 0 means "not given" and is then taken from
// TF_CONFIG's task, which must be of `job`. INVALID_ARGUMENT naming the flag,
// the file or TF_CONFIG for anything missing or wrong.
absl::StatusOr<ResolvedTask> ResolveTask(absl::string_view job, const std::string& cluster_file,
                                         int task_flag,
                                         const std::optional<std::string>& tf_config);

}  // namespace tessera

#endif  // TESSERA_COMMON_CLUSTER_TASK_RESOLUTION_H_
