#ifndef TESSERA_COMMON_ADMIN_CLUSTER_ADMIN_H_
#define TESSERA_COMMON_ADMIN_CLUSTER_ADMIN_H_

// The admin calls tessera_ctl makes on the tasks of a cluster, as an interface
// so the commands (ctl_commands.h) run against a fake in tests and against the
// gRPC implementation (admin_client.h) in the binary.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/cluster/cluster_spec.h"
#include "protos/admin.pb.h"

namespace tessera {

// One task of the cluster file and the "host:port" it serves on.
struct TaskTarget {
  TaskId id;
  std::string address;
  std::string ToString() const;  // "ps:1 at host:2222"
};

// The answer of one task to GetStatus. `rpc_status` is OK when the task
// answered; then `response` holds its answer, else `response` is empty.
// Implementations return `rpc_status` as the RPC ended, without naming the
// task (callers have `target` for that).
struct TaskStatus {
  TaskTarget target;
  absl::Status rpc_status;
  StatusResponse response;
  bool reachable() const { return rpc_status.ok(); }
};

// Implementations are thread-compatible: one caller at a time.
class ClusterAdmin {
 public:
  virtual ~ClusterAdmin() = default;
  // Asks every task in `tasks` for its status, all at once, each call bounded
  // by `timeout`. Returns one TaskStatus per task, in the order of `tasks`.
  virtual std::vector<TaskStatus> GetStatuses(const std::vector<TaskTarget>& tasks,
                                              absl::Duration timeout) = 0;
  // Sends Shutdown(reason) to every task in `tasks`, all at once, each call
  // bounded by `timeout`. Returns one status per task, in the order of `tasks`.
  virtual std::vector<absl::Status> Shutdown(const std::vector<TaskTarget>& tasks,
                                             absl::string_view reason,
                                             absl::Duration timeout) = 0;
};

}  // namespace tessera

#endif  // TESSERA_COMMON_ADMIN_CLUSTER_ADMIN_H_
