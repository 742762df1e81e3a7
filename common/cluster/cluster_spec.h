#ifndef TESSERA_COMMON_CLUSTER_CLUSTER_SPEC_H_
#define TESSERA_COMMON_CLUSTER_CLUSTER_SPEC_H_

// The cluster: which "host:port" runs each task of each job. Parsed from the
// JSON cluster file TensorFlow users already write,
//
//   {"cluster": {"ps": ["n1:2222"], "worker": ["n2:2222", "n3:2222"]}}
//
// or its bare form {"ps": [...], "worker": [...]}, or from TF_CONFIG. Jobs are
// "ps" and "worker" (both required) and "evaluator" (optional). Worker 0 is the
// chief. Validation happens before any socket opens: every error names the
// source (file name or TF_CONFIG), the job/key and what is wrong.
// Immutable after construction; thread-safe.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protos/cluster.pb.h"

namespace tessera {

inline constexpr char kPsJob[] = "ps";
inline constexpr char kWorkerJob[] = "worker";
inline constexpr char kEvaluatorJob[] = "evaluator";

// "host:port" or "[v6addr]:port" -> host and port in [1, 65535].
absl::StatusOr<std::pair<std::string, int>> ParseHostPort(absl::string_view address);

struct TaskId {
  std::string job;
  int index = 0;
  std::string ToString() const;  // "worker:1"
};

class ClusterSpec {
 public:
  // `source` names where the text came from, for error messages.
  static absl::StatusOr<ClusterSpec> FromJson(absl::string_view json, absl::string_view source);
  static absl::StatusOr<ClusterSpec> FromFile(const std::string& path);
  static absl::StatusOr<ClusterSpec> FromDef(const ClusterDef& def, absl::string_view source);

  const ClusterDef& def() const { return def_; }
  const std::string& source() const { return source_; }
  // 0 for a job the cluster does not have.
  int NumTasks(absl::string_view job) const;
  int num_ps() const { return NumTasks(kPsJob); }
  int num_workers() const { return NumTasks(kWorkerJob); }

  // OK when `job` exists and 0 <= index < NumTasks(job); else INVALID_ARGUMENT
  // naming the job, the index and the valid range.
  absl::Status ValidateTask(const TaskId& task) const;
  absl::StatusOr<std::string> TaskAddress(const TaskId& task) const;
  // Every task of every job, in job order then index order.
  std::vector<std::pair<TaskId, std::string>> AllTasks() const;

  static bool IsChief(const TaskId& task) { return task.job == kWorkerJob && task.index == 0; }

 private:
  ClusterSpec(ClusterDef def, std::string source)
      : def_(std::move(def)), source_(std::move(source)) {}
  const JobDef* FindJob(absl::string_view job) const;

  ClusterDef def_;
  std::string source_;
};

// TF_CONFIG: {"cluster": {...}, "task": {"type": "worker", "index": 1}}.
struct TfConfig {
  ClusterSpec cluster;
  TaskId task;
};
absl::StatusOr<TfConfig> ParseTfConfig(absl::string_view json);

}  // namespace tessera

#endif  // TESSERA_COMMON_CLUSTER_CLUSTER_SPEC_H_
