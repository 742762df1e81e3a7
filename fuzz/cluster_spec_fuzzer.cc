// The cluster file and TF_CONFIG (common/cluster/cluster_spec.h): any text is
// either a cluster whose every task address parses and resolves, or
// INVALID_ARGUMENT; the same for TF_CONFIG, whose task must be in the cluster.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/cluster/cluster_spec.h"
#include "fuzz/fuzz_support.h"

namespace tessera {
namespace {

void CheckCluster(const ClusterSpec& spec) {
  FUZZ_CHECK(spec.num_ps() >= 1 && spec.num_workers() >= 1, "a cluster without ps or worker");
  int tasks = 0;
  for (const auto& [task, address] : spec.AllTasks()) {
    ++tasks;
    FUZZ_CHECK(ParseHostPort(address).ok(), absl::StrCat("task address ", address));
    absl::StatusOr<std::string> resolved = spec.TaskAddress(task);
    FUZZ_CHECK(resolved.ok() && *resolved == address, task.ToString());
  }
  FUZZ_CHECK(tasks == spec.num_ps() + spec.num_workers() + spec.NumTasks(kEvaluatorJob),
             "AllTasks does not list every task");
  FUZZ_CHECK(!spec.ValidateTask({kWorkerJob, spec.num_workers()}).ok(), "index past the end");
  FUZZ_CHECK(!spec.ValidateTask({kPsJob, -1}).ok(), "negative index");
}

}  // namespace
}  // namespace tessera

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<ClusterSpec> spec = ClusterSpec::FromJson(text, "cluster.json");
  if (spec.ok()) {
    CheckCluster(*spec);
  } else {
    FUZZ_CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument,
               spec.status().ToString());
  }

  absl::StatusOr<TfConfig> tf_config = ParseTfConfig(text);
  if (tf_config.ok()) {
    CheckCluster(tf_config->cluster);
    FUZZ_CHECK(tf_config->cluster.ValidateTask(tf_config->task).ok(), "TF_CONFIG task");
  } else {
    FUZZ_CHECK(tf_config.status().code() == absl::StatusCode::kInvalidArgument,
               tf_config.status().ToString());
  }
  return 0;
}
