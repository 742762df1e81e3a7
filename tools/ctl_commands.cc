#include "tools/ctl_commands.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/status_table.h"

namespace tessera {
namespace {

// Each poll gives its calls at least this long, even when the wait's deadline
// is nearer, so the last poll still sees a connection fail (or succeed).
constexpr absl::Duration kMinRpcTimeout = absl::Seconds(1);

bool Satisfied(const TaskStatus& task, WaitCondition condition) {
  if (condition == WaitCondition::kReady) return task.reachable();
  return !task.reachable() || task.response.state() == "done";
}

absl::string_view ConditionText(WaitCondition condition) {
  return condition == WaitCondition::kReady ? "ready (answering)"
                                            : "done (exited or state \"done\")";
}

std::string Missing(const TaskStatus& task) {
  return absl::StrCat(task.target.ToString(), " (", DescribeTask(task), ")");
}

}  // namespace

absl::StatusOr<std::vector<TaskTarget>> SelectTasks(const ClusterSpec& cluster,
                                                    absl::string_view job) {
  if (!job.empty() && cluster.NumTasks(job) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("job \"", job, "\" is not in the cluster of ", cluster.source()));
  }
  std::vector<TaskTarget> tasks;
  for (auto& [id, address] : cluster.AllTasks()) {
    if (job.empty() || id.job == job) tasks.push_back(TaskTarget{id, address});
  }
  return tasks;
}

void RunTasks(const std::vector<TaskTarget>& tasks, std::ostream& out) {
  for (const TaskTarget& task : tasks) {
    out << task.id.job << " " << task.id.index << " " << task.address << "\n";
  }
}

absl::Status RunStatus(ClusterAdmin& admin, const std::vector<TaskTarget>& tasks,
                       absl::Duration rpc_timeout, bool json, std::ostream& out) {
  std::vector<TaskStatus> statuses = admin.GetStatuses(tasks, rpc_timeout);
  out << (json ? FormatStatusJson(statuses) : FormatStatusTable(statuses));
  out.flush();
  std::vector<std::string> unreachable;
  for (const TaskStatus& task : statuses) {
    if (!task.reachable()) unreachable.push_back(task.target.ToString());
  }
  if (unreachable.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(unreachable.size(), " of ", tasks.size(),
                                             " task(s) did not answer: ",
                                             absl::StrJoin(unreachable, ", ")));
}

absl::Status RunWait(ClusterAdmin& admin, Clock* clock, const std::vector<TaskTarget>& tasks,
                     const WaitOptions& options, std::ostream& out) {
  const absl::Time start = clock->Now();
  const absl::Time deadline = start + options.timeout;
  absl::Time next_report = start;
  while (true) {
    absl::Duration rpc_timeout = std::min(
        options.rpc_timeout, std::max(kMinRpcTimeout, deadline - clock->Now()));
    std::vector<TaskStatus> statuses = admin.GetStatuses(tasks, rpc_timeout);
    std::vector<const TaskStatus*> missing;
    for (const TaskStatus& task : statuses) {
      if (!Satisfied(task, options.condition)) missing.push_back(&task);
    }
    const absl::Time now = clock->Now();
    if (missing.empty()) {
      out << "all " << tasks.size() << " task(s) " << ConditionText(options.condition)
          << " after " << absl::FormatDuration(absl::Trunc(now - start, absl::Milliseconds(100)))
          << "\n";
      out.flush();
      return absl::OkStatus();
    }
    if (now >= deadline) {
      std::vector<std::string> lines;
      for (const TaskStatus* task : missing) lines.push_back(Missing(*task));
      return absl::DeadlineExceededError(absl::StrCat(
          "timed out after ", absl::FormatDuration(options.timeout), " waiting for ",
          missing.size(), " of ", tasks.size(), " task(s) to be ",
          ConditionText(options.condition), ": ", absl::StrJoin(lines, "; ")));
    }
    if (now >= next_report) {
      for (const TaskStatus* task : missing) out << "waiting for " << Missing(*task) << "\n";
      out.flush();
      next_report = now + options.report_interval;
    }
    clock->SleepFor(std::min(options.poll_interval, deadline - now));
  }
}

absl::Status RunShutdown(ClusterAdmin& admin, const std::vector<TaskTarget>& tasks,
                         absl::string_view reason, absl::Duration rpc_timeout,
                         std::ostream& out) {
  std::vector<TaskTarget> first, then;
  for (const TaskTarget& task : tasks) (task.id.job == kPsJob ? then : first).push_back(task);
  absl::Status result;
  std::vector<std::string> failed;
  for (const std::vector<TaskTarget>* group : {&first, &then}) {
    if (group->empty()) continue;
    std::vector<absl::Status> statuses = admin.Shutdown(*group, reason, rpc_timeout);
    for (size_t i = 0; i < group->size(); ++i) {
      const absl::Status& status = statuses[i];
      out << (*group)[i].ToString() << ": ";
      if (status.ok()) {
        out << "shutting down\n";
      } else if (absl::IsUnavailable(status)) {
        out << "not running (" << status.ToString() << ")\n";
      } else {
        out << "FAILED: " << status.ToString() << "\n";
        failed.push_back((*group)[i].ToString());
        if (result.ok()) result = status;
      }
    }
    out.flush();
  }
  if (result.ok()) return result;
  return absl::Status(result.code(), absl::StrCat("Shutdown failed for ", failed.size(),
                                                  " task(s): ", absl::StrJoin(failed, ", ")));
}

}  // namespace tessera
