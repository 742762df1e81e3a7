// status_probe --cluster=FILE [--job=ps] [--interval_ms=250] [--timeout_ms=10000]
//              [--seconds=0]
//
// For test/overload.py: asks each task of --job (every task when empty) for
// its Admin status, one task after the other, every --interval_ms, over
// channels kept open for the whole run (as a monitoring client would), and
// prints one line per answer:
//
//   probe <unix seconds> <job>:<index> <latency ms> OK
//   probe <unix seconds> <job>:<index> <latency ms> <CODE>: <message>
//
// The latency is that of the RPC alone: unlike a `tessera_ctl status` run, it
// holds no process start, no connection setup after the first call and no
// other task's answer, so it tells what the task itself takes to answer.
// Runs for --seconds (0: until killed). Plaintext only (loopback clusters).
// Exit 1 with a message on a bad flag or cluster file.

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/admin/admin_client.h"
#include "common/admin/cluster_admin.h"
#include "common/cluster/cluster_spec.h"

ABSL_FLAG(std::string, cluster, "", "cluster file (JSON)");
ABSL_FLAG(std::string, job, "ps", "job whose tasks to ask; empty: every task");
ABSL_FLAG(int, interval_ms, 250, "between the starts of two rounds");
ABSL_FLAG(int, timeout_ms, 10000, "deadline of each call");
ABSL_FLAG(double, seconds, 0, "how long to run; 0: until killed");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<tessera::ClusterSpec> cluster =
      tessera::ClusterSpec::FromFile(absl::GetFlag(FLAGS_cluster));
  if (!cluster.ok()) {
    std::cerr << "status_probe: " << cluster.status().message() << "\n";
    return 1;
  }
  const std::string job = absl::GetFlag(FLAGS_job);
  std::vector<tessera::TaskTarget> tasks;
  for (const auto& [id, address] : cluster->AllTasks()) {
    if (job.empty() || id.job == job) tasks.push_back({id, address});
  }
  const int interval_ms = absl::GetFlag(FLAGS_interval_ms);
  const int timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
  if (tasks.empty() || interval_ms <= 0 || timeout_ms <= 0) {
    std::cerr << "status_probe: no task of job '" << job << "' in "
              << absl::GetFlag(FLAGS_cluster) << ", or --interval_ms/--timeout_ms not > 0\n";
    return 1;
  }
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const absl::Time end =
      seconds > 0 ? absl::Now() + absl::Seconds(seconds) : absl::InfiniteFuture();
  std::unique_ptr<tessera::ClusterAdmin> admin = tessera::NewGrpcClusterAdmin();
  while (absl::Now() < end) {
    const absl::Time round = absl::Now();
    for (const tessera::TaskTarget& task : tasks) {
      const absl::Time start = absl::Now();
      std::vector<tessera::TaskStatus> answer =
          admin->GetStatuses({task}, absl::Milliseconds(timeout_ms));
      const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
      const absl::Status& rpc = answer[0].rpc_status;
      std::printf("probe %.3f %s %.1f %s\n", absl::ToDoubleSeconds(start - absl::UnixEpoch()),
                  task.id.ToString().c_str(), ms,
                  rpc.ok() ? "OK"
                           : (absl::StatusCodeToString(rpc.code()) + ": " +
                              std::string(rpc.message()))
                                 .c_str());
      std::fflush(stdout);
    }
    absl::SleepFor(round + absl::Milliseconds(interval_ms) - absl::Now());
  }
  return 0;
}
