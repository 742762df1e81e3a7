#include "common/cluster/cluster_spec.h"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "common/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace tessera {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const char* const kJobOrder[] = {kPsJob, kWorkerJob, kEvaluatorJob};

absl::StatusOr<Struct> ParseJsonObject(absl::string_view json, absl::string_view source) {
  Struct root;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &root);
  if (!status.ok()) {
    // protobuf 3.21 puts ": " before some parser messages.
    std::string message = status.message().as_string();
    absl::string_view text = absl::StripLeadingAsciiWhitespace(absl::StripPrefix(message, ":"));
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object: ", text));
  }
  return root;
}

// Reads the jobs out of `cluster` (the object holding "ps", "worker", ...).
absl::StatusOr<ClusterDef> JobsFromStruct(const Struct& cluster, absl::string_view source) {
  for (const auto& [name, value] : cluster.fields()) {
    bool known = false;
    for (const char* job : kJobOrder) known |= name == job;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": unknown job \"", name,
          "\" (known jobs: ps, worker, evaluator; worker 0 is the chief)"));
    }
  }
  ClusterDef def;
  for (const char* job : kJobOrder) {
    auto it = cluster.fields().find(job);
    if (it == cluster.fields().end()) continue;
    const Value& value = it->second;
    if (value.kind_case() != Value::kListValue) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": job \"", job, "\" must be a list of \"host:port\" strings"));
    }
    JobDef* jd = def.add_job();
    jd->set_name(job);
    int index = 0;
    for (const Value& task : value.list_value().values()) {
      if (task.kind_case() != Value::kStringValue) {
        return absl::InvalidArgumentError(absl::StrCat(
            source, ": job \"", job, "\" task ", index, " is not a \"host:port\" string"));
      }
      jd->add_tasks(task.string_value());
      ++index;
    }
  }
  return def;
}

absl::StatusOr<int> IntegerField(const Struct& s, absl::string_view key,
                                 absl::string_view source) {
  auto it = s.fields().find(std::string(key));
  if (it == s.fields().end()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": missing \"", key, "\""));
  }
  const Value& v = it->second;
  double d;
  if (v.kind_case() == Value::kNumberValue) {
    d = v.number_value();
  } else if (v.kind_case() != Value::kStringValue || !absl::SimpleAtod(v.string_value(), &d)) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": \"", key, "\" is not a number"));
  }
  if (d != std::floor(d) || d < 0 || d > 1e6) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": \"", key, "\" must be a non-negative integer, got ", d));
  }
  return static_cast<int>(d);
}

}  // namespace

std::string TaskId::ToString() const { return absl::StrCat(job, ":", index); }

absl::StatusOr<std::pair<std::string, int>> ParseHostPort(absl::string_view address) {
  std::string host;
  absl::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("address \"", address, "\" is not \"[ipv6]:port\""));
    }
    host = std::string(address.substr(1, close - 1));
    port_text = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("address \"", address, "\" has no port (want \"host:port\")"));
    }
    host = std::string(address.substr(0, colon));
    port_text = address.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "address \"", address, "\": write IPv6 hosts in brackets, as \"[::1]:2222\""));
    }
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", address, "\" has no host"));
  }
  int port;
  if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", address, "\" has bad port \"",
                                                   port_text, "\" (want 1-65535)"));
  }
  return std::make_pair(host, port);
}

absl::StatusOr<ClusterSpec> ClusterSpec::FromDef(const ClusterDef& def, absl::string_view source) {
  std::map<std::string, std::string> owner;  // address -> "job task i"
  for (const JobDef& job : def.job()) {
    if (job.tasks().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": job \"", job.name(), "\" has no tasks"));
    }
    for (int i = 0; i < job.tasks_size(); ++i) {
      const std::string& address = job.tasks(i);
      auto parsed = ParseHostPort(address);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(source, ": job \"", job.name(),
                                                       "\" task ", i, ": ",
                                                       parsed.status().message()));
      }
      std::string here = absl::StrCat("job \"", job.name(), "\" task ", i);
      auto [it, inserted] = owner.emplace(address, here);
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat(
            source, ": address \"", address, "\" is used twice: by ", it->second, " and by ", here));
      }
    }
  }
  ClusterSpec spec(def, std::string(source));
  for (const char* required : {kPsJob, kWorkerJob}) {
    if (spec.FindJob(required) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": no \"", required, "\" job (Tessera needs ps and worker tasks)"));
    }
  }
  return spec;
}

absl::StatusOr<ClusterSpec> ClusterSpec::FromJson(absl::string_view json,
                                                  absl::string_view source) {
  ASSIGN_OR_RETURN(Struct root, ParseJsonObject(json, source));
  const Struct* cluster = &root;
  auto it = root.fields().find("cluster");
  if (it != root.fields().end()) {
    if (it->second.kind_case() != Value::kStructValue) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": \"cluster\" must be an object of jobs"));
    }
    if (root.fields_size() > 1) {
      for (const auto& [key, unused] : root.fields()) {
        if (key != "cluster" && key != "task") {
          return absl::InvalidArgumentError(
              absl::StrCat(source, ": unexpected key \"", key, "\" beside \"cluster\""));
        }
      }
    }
    cluster = &it->second.struct_value();
  }
  ASSIGN_OR_RETURN(ClusterDef def, JobsFromStruct(*cluster, source));
  return FromDef(def, source);
}

absl::StatusOr<ClusterSpec> ClusterSpec::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read cluster file ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return FromJson(text.str(), path);
}

const JobDef* ClusterSpec::FindJob(absl::string_view job) const {
  for (const JobDef& jd : def_.job()) {
    if (jd.name() == job) return &jd;
  }
  return nullptr;
}

int ClusterSpec::NumTasks(absl::string_view job) const {
  const JobDef* jd = FindJob(job);
  return jd == nullptr ? 0 : jd->tasks_size();
}

absl::Status ClusterSpec::ValidateTask(const TaskId& task) const {
  const JobDef* jd = FindJob(task.job);
  if (jd == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("job \"", task.job, "\" is not in the cluster of ", source_));
  }
  if (task.index < 0 || task.index >= jd->tasks_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task ", task.index, " is out of range: job \"", task.job, "\" has ", jd->tasks_size(),
        " task(s) (0-", jd->tasks_size() - 1, ") in ", source_));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ClusterSpec::TaskAddress(const TaskId& task) const {
  RETURN_IF_ERROR(ValidateTask(task));
  return FindJob(task.job)->tasks(task.index);
}

std::vector<std::pair<TaskId, std::string>> ClusterSpec::AllTasks() const {
  std::vector<std::pair<TaskId, std::string>> all;
  for (const JobDef& jd : def_.job()) {
    for (int i = 0; i < jd.tasks_size(); ++i) all.push_back({TaskId{jd.name(), i}, jd.tasks(i)});
  }
  return all;
}

absl::StatusOr<TfConfig> ParseTfConfig(absl::string_view json) {
  constexpr absl::string_view kSource = "TF_CONFIG";
  ASSIGN_OR_RETURN(Struct root, ParseJsonObject(json, kSource));
  auto cluster_it = root.fields().find("cluster");
  if (cluster_it == root.fields().end()) {
    return absl::InvalidArgumentError("TF_CONFIG: missing \"cluster\"");
  }
  ASSIGN_OR_RETURN(ClusterSpec spec, ClusterSpec::FromJson(json, kSource));
  auto task_it = root.fields().find("task");
  if (task_it == root.fields().end() || task_it->second.kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError(
        "TF_CONFIG: missing \"task\" object, e.g. {\"type\": \"worker\", \"index\": 0}");
  }
  const Struct& task = task_it->second.struct_value();
  auto type_it = task.fields().find("type");
  if (type_it == task.fields().end() || type_it->second.kind_case() != Value::kStringValue) {
    return absl::InvalidArgumentError("TF_CONFIG: \"task\" needs a string \"type\"");
  }
  ASSIGN_OR_RETURN(int index, IntegerField(task, "index", "TF_CONFIG: task"));
  TaskId id{type_it->second.string_value(), index};
  RETURN_IF_ERROR(Annotate(spec.ValidateTask(id), "TF_CONFIG"));
  return TfConfig{std::move(spec), std::move(id)};
}

}  // namespace tessera
