#include "tools/launch_commands.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <set>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cluster/cluster_spec.h"
#include "common/file_util.h"
#include "tools/node_list.h"
#include "tools/make_cluster.h"

namespace tessera {
namespace {

constexpr char kMakeClusterUsage[] =
    "usage: tessera_ctl make-cluster (--nodes=FILE | --nodes_list=LIST) --ps=N [--workers=M]\n"
    "                                [--port=P] [--layout=cyclic|block|listed] "
    "[--tasks_per_node=T]\n";
constexpr char kLaunchRoleUsage[] = "usage: tessera_ctl launch-role --cluster=FILE\n";

using FlagMap = std::map<std::string, std::string>;

// "--name=value" words into a map; INVALID_ARGUMENT for anything else, a name
// not in `known`, or a flag given twice.
absl::StatusOr<FlagMap> ParseFlags(const std::vector<std::string>& args,
                                   const std::set<std::string>& known) {
  FlagMap flags;
  for (const std::string& arg : args) {
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (known.count(name) == 0) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value (--", name, "=...)"));
    }
    if (!flags.emplace(name, arg.substr(eq + 1)).second) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " is given twice"));
    }
  }
  return flags;
}

// The integer value of flag `name`, or nullopt when absent.
absl::StatusOr<std::optional<int>> IntFlag(const FlagMap& flags, const std::string& name) {
  auto it = flags.find(name);
  if (it == flags.end()) return std::optional<int>();
  int value = 0;
  if (!absl::SimpleAtoi(it->second, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, "=", it->second, ": want a whole number"));
  }
  return std::optional<int>(value);
}

absl::StatusOr<MakeClusterOptions> MakeClusterFlags(const FlagMap& flags) {
  MakeClusterOptions options;
  absl::StatusOr<std::optional<int>> ps = IntFlag(flags, "ps");
  if (!ps.ok()) return ps.status();
  if (!ps->has_value()) return absl::InvalidArgumentError("make-cluster needs --ps=N");
  options.num_ps = **ps;
  for (auto [name, field] : {std::pair<const char*, int*>{"port", &options.port},
                             {"tasks_per_node", &options.tasks_per_node}}) {
    absl::StatusOr<std::optional<int>> value = IntFlag(flags, name);
    if (!value.ok()) return value.status();
    if (value->has_value()) *field = **value;
  }
  absl::StatusOr<std::optional<int>> workers = IntFlag(flags, "workers");
  if (!workers.ok()) return workers.status();
  options.num_workers = *workers;
  if (auto it = flags.find("layout"); it != flags.end()) {
    absl::StatusOr<ClusterLayout> layout = ParseClusterLayout(it->second);
    if (!layout.ok()) return layout.status();
    options.layout = *layout;
  }
  return options;
}

int Usage(const absl::Status& status, const char* usage, std::ostream& err) {
  err << "tessera_ctl: " << status.message() << "\n" << usage;
  return 2;
}

int Failure(const absl::Status& status, std::ostream& err) {
  err << "tessera_ctl: " << status.message() << "\n";
  return 1;
}

std::string HostOf(const std::string& address) {
  absl::StatusOr<std::pair<std::string, int>> host_port = ParseHostPort(address);
  return host_port.ok() ? host_port->first : address;
}

}  // namespace

int RunMakeCluster(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<FlagMap> flags = ParseFlags(
      args, {"nodes", "nodes_list", "ps", "workers", "port", "layout", "tasks_per_node"});
  if (!flags.ok()) return Usage(flags.status(), kMakeClusterUsage, err);
  absl::StatusOr<MakeClusterOptions> options = MakeClusterFlags(*flags);
  if (!options.ok()) return Usage(options.status(), kMakeClusterUsage, err);
  const bool has_file = flags->count("nodes") > 0, has_list = flags->count("nodes_list") > 0;
  if (has_file == has_list) {
    return Usage(absl::InvalidArgumentError(
                     "make-cluster needs one of --nodes=FILE (e.g. $PBS_NODEFILE) or "
                     "--nodes_list=LIST (e.g. \"$SLURM_JOB_NODELIST\")"),
                 kMakeClusterUsage, err);
  }
  std::string text, source;
  if (has_file) {
    source = flags->at("nodes");
    absl::StatusOr<std::string> contents = ReadFileToString(source, "node file");
    if (!contents.ok()) return Failure(contents.status(), err);
    text = *std::move(contents);
  } else {
    source = "--nodes_list";
    text = flags->at("nodes_list");
  }
  absl::StatusOr<std::vector<std::string>> hosts = ParseNodeList(text, source);
  if (!hosts.ok()) return Failure(hosts.status(), err);
  absl::StatusOr<ClusterAddresses> addresses = MakeClusterAddresses(*hosts, *options);
  if (!addresses.ok()) return Failure(addresses.status(), err);
  std::string json = ClusterJson(*addresses);
  // The daemons will read this file: check it the way they will.
  absl::StatusOr<ClusterSpec> check = ClusterSpec::FromJson(json, "make-cluster output");
  if (!check.ok()) return Failure(check.status(), err);
  out << json;
  return 0;
}

int RunLaunchRole(const std::vector<std::string>& args, const EnvironmentMap& env,
                  const std::vector<std::string>& local_names, std::ostream& out,
                  std::ostream& err) {
  absl::StatusOr<FlagMap> flags = ParseFlags(args, {"cluster"});
  if (!flags.ok()) return Usage(flags.status(), kLaunchRoleUsage, err);
  if (flags->count("cluster") == 0) {
    return Usage(absl::InvalidArgumentError("launch-role needs --cluster=FILE"), kLaunchRoleUsage,
                 err);
  }
  absl::StatusOr<ClusterSpec> cluster = ClusterSpec::FromFile(flags->at("cluster"));
  if (!cluster.ok()) return Failure(cluster.status(), err);
  absl::StatusOr<LauncherRank> rank = RankFromEnvironment(env);
  if (!rank.ok()) return Failure(rank.status(), err);
  const std::string rank_source = absl::StrCat(rank->variable, "=", rank->rank);
  absl::StatusOr<TaskId> task = TaskForRank(*cluster, rank->rank, rank_source);
  if (!task.ok()) return Failure(task.status(), err);
  const std::string address = *cluster->TaskAddress(*task);  // TaskForRank checked the range
  const std::string here = local_names.empty() ? "this host" : local_names.front();
  err << "tessera_ctl launch-role: rank " << rank->rank << " from " << rank->variable << " is "
      << task->ToString() << " at " << address << " (this host: " << here << ")\n";
  const int total = cluster->num_ps() + cluster->num_workers();
  if (rank->size.has_value() && *rank->size != total) {
    err << "tessera_ctl launch-role: WARNING: the launcher started " << *rank->size
        << " rank(s) (" << rank->size_variable << "=" << *rank->size << ") but "
        << cluster->source() << " has " << total << " tasks; start exactly " << total << "\n";
  }
  const std::string host = HostOf(address);
  if (!IsLocalHost(host, local_names)) {
    err << "tessera_ctl launch-role: WARNING: " << task->ToString() << " is at " << address
        << " in " << cluster->source() << ", but rank " << rank->rank << " runs on " << here
        << " (" << absl::StrJoin(local_names, ", ") << "): it will listen here while the "
        << "other tasks look for it on " << host << ". The launcher placed the ranks "
        << "differently from make-cluster's --layout: use srun -m cyclic or mpirun --map-by "
        << "node with --layout=cyclic, aprun -N T with --layout=block --tasks_per_node=T "
        << "(docs/launching.md)\n";
  }
  out << task->job << " " << task->index << "\n";
  return 0;
}

std::vector<std::string> LocalHostNames() {
  std::vector<std::string> names;
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') {
    names.push_back(name);
    addrinfo hints = {};
    hints.ai_flags = AI_CANONNAME;
    addrinfo* info = nullptr;
    if (getaddrinfo(name, nullptr, &hints, &info) == 0) {
      if (info != nullptr && info->ai_canonname != nullptr && names[0] != info->ai_canonname) {
        names.push_back(info->ai_canonname);
      }
      freeaddrinfo(info);
    }
  }
  ifaddrs* interfaces = nullptr;
  if (getifaddrs(&interfaces) == 0) {
    for (ifaddrs* i = interfaces; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr) continue;
      char text[INET6_ADDRSTRLEN] = {};
      const int family = i->ifa_addr->sa_family;
      const void* address = nullptr;
      if (family == AF_INET) address = &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr;
      if (family == AF_INET6) address = &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr;
      if (address != nullptr && inet_ntop(family, address, text, sizeof(text)) != nullptr) {
        names.push_back(text);
      }
    }
    freeifaddrs(interfaces);
  }
  return names;
}

}  // namespace tessera
