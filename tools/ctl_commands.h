#ifndef TESSERA_TOOLS_CTL_COMMANDS_H_
#define TESSERA_TOOLS_CTL_COMMANDS_H_

// The subcommands of tessera_ctl, behind main's flag parsing. Each writes its
// report to `out` and returns OK or a Status whose message says what failed
// (main prints it and exits 1). The cluster admin and the clock are borrowed.

#include <ostream>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/cluster/cluster_spec.h"
#include "common/admin/cluster_admin.h"

namespace tessera {

// The tasks of `job` ("ps", "worker", "evaluator"), or of every job when `job`
// is empty, in cluster order. INVALID_ARGUMENT when the cluster has no such job.
absl::StatusOr<std::vector<TaskTarget>> SelectTasks(const ClusterSpec& cluster,
                                                    absl::string_view job);

// Writes "job index address" per task, one per line (for scripts).
void RunTasks(const std::vector<TaskTarget>& tasks, std::ostream& out);

// Queries every task and writes the status table (or JSON). UNAVAILABLE
// naming the unreachable tasks when any did not answer.
absl::Status RunStatus(ClusterAdmin& admin, const std::vector<TaskTarget>& tasks,
                       absl::Duration rpc_timeout, bool json, std::ostream& out);

enum class WaitCondition {
  kReady,  // every task answers GetStatus
  kDone,   // every task is unreachable (exited) or reports state "done"
};

struct WaitOptions {
  WaitCondition condition = WaitCondition::kReady;
  absl::Duration timeout = absl::Seconds(60);
  absl::Duration poll_interval = absl::Milliseconds(500);
  absl::Duration report_interval = absl::Seconds(5);  // between progress lines
  // Per GetStatus call; the last poll may end up to this long after `timeout`.
  absl::Duration rpc_timeout = absl::Seconds(2);
};

// Polls the tasks until the condition holds for all of them. Writes a line per
// task still awaited ("waiting for ps:1 at h:2222 (unreachable: ...)") at the
// first poll that fails the condition and then every report_interval, and a
// final line when it holds. DEADLINE_EXCEEDED naming each missing task and
// what it reported when `timeout` passes first.
absl::Status RunWait(ClusterAdmin& admin, Clock* clock, const std::vector<TaskTarget>& tasks,
                     const WaitOptions& options, std::ostream& out);

// Sends Shutdown to the worker and evaluator tasks first, then to the ps tasks,
// and writes one line per task. A task that is unreachable counts as already
// stopped (UNAVAILABLE). Any other failure is returned with the code of the
// first one and a message naming every task whose Shutdown failed.
absl::Status RunShutdown(ClusterAdmin& admin, const std::vector<TaskTarget>& tasks,
                         absl::string_view reason, absl::Duration rpc_timeout,
                         std::ostream& out);

}  // namespace tessera

#endif  // TESSERA_TOOLS_CTL_COMMANDS_H_
