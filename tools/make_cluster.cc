#include "tools/make_cluster.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/node_list.h"

namespace tessera {
namespace {

constexpr int kMaxPort = 65535;

struct Slot {
  std::string host;
  int port = 0;
};

// Slot of rank r for each layout; `nodes` has no repeats for cyclic and block.
std::vector<Slot> Slots(const std::vector<std::string>& nodes, const MakeClusterOptions& options,
                        int total) {
  std::vector<Slot> slots;
  std::map<std::string, int> seen;  // listed: earlier entries per host
  const int n = static_cast<int>(nodes.size());
  for (int r = 0; r < total; ++r) {
    switch (options.layout) {
      case ClusterLayout::kCyclic:
        slots.push_back({nodes[r % n], options.port + r / n});
        break;
      case ClusterLayout::kBlock:
        slots.push_back({nodes[r / options.tasks_per_node],
                         options.port + r % options.tasks_per_node});
        break;
      case ClusterLayout::kListed:
        slots.push_back({nodes[r], options.port + seen[nodes[r]]++});
        break;
    }
  }
  return slots;
}

}  // namespace

absl::StatusOr<ClusterLayout> ParseClusterLayout(absl::string_view name) {
  if (name == "cyclic") return ClusterLayout::kCyclic;
  if (name == "block") return ClusterLayout::kBlock;
  if (name == "listed") return ClusterLayout::kListed;
  return absl::InvalidArgumentError(
      absl::StrCat("--layout=", name, ": want cyclic, block or listed"));
}

absl::StatusOr<ClusterAddresses> MakeClusterAddresses(const std::vector<std::string>& hosts,
                                                      const MakeClusterOptions& options) {
  if (options.num_ps < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--ps=", options.num_ps, ": want 1 or more"));
  }
  if (options.port < 1 || options.port > kMaxPort) {
    return absl::InvalidArgumentError(
        absl::StrCat("--port=", options.port, ": want 1-", kMaxPort));
  }
  if (options.tasks_per_node < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tasks_per_node=", options.tasks_per_node, ": want 1 or more"));
  }
  if (options.tasks_per_node != 1 && options.layout != ClusterLayout::kBlock) {
    return absl::InvalidArgumentError("--tasks_per_node applies to --layout=block only");
  }
  if (hosts.empty()) return absl::InvalidArgumentError("the node list is empty");
  const std::vector<std::string> nodes =
      options.layout == ClusterLayout::kListed ? hosts : UniqueHosts(hosts);
  const int n = static_cast<int>(nodes.size());
  int slots = 0;  // most tasks the layout holds; 0: unbounded (cyclic)
  int default_workers = n;
  if (options.layout == ClusterLayout::kBlock) {
    slots = n * options.tasks_per_node;
    default_workers = slots - options.num_ps;
  } else if (options.layout == ClusterLayout::kListed) {
    slots = n;
    default_workers = n - options.num_ps;
  }
  const int num_workers = options.num_workers.value_or(default_workers);
  if (num_workers < 1) {
    if (options.num_workers.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--workers=", num_workers, ": want 1 or more"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "no slot is left for a worker: ", slots, " slot(s) (", n, " node(s)",
        options.layout == ClusterLayout::kBlock
            ? absl::StrCat(" x --tasks_per_node=", options.tasks_per_node)
            : std::string(" listed"),
        ") and --ps=", options.num_ps));
  }
  const int total = options.num_ps + num_workers;
  if (slots > 0 && total > slots) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.num_ps, " ps + ", num_workers, " workers = ", total, " tasks do not fit in ",
        slots, " slot(s) of --layout=",
        options.layout == ClusterLayout::kBlock ? "block" : "listed",
        options.layout == ClusterLayout::kBlock
            ? absl::StrCat(" (", n, " node(s) x --tasks_per_node=", options.tasks_per_node, ")")
            : absl::StrCat(" (", n, " host entries)")));
  }
  ClusterAddresses addresses;
  for (const Slot& slot : Slots(nodes, options, total)) {
    if (slot.port > kMaxPort) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--port=", options.port, " is too high: task ports would reach ", slot.port,
          " on ", slot.host, " (max ", kMaxPort, ")"));
    }
    std::string address = absl::StrCat(slot.host, ":", slot.port);
    if (static_cast<int>(addresses.ps.size()) < options.num_ps) {
      addresses.ps.push_back(std::move(address));
    } else {
      addresses.worker.push_back(std::move(address));
    }
  }
  return addresses;
}

std::string ClusterJson(const ClusterAddresses& addresses) {
  auto job = [](const std::vector<std::string>& tasks) {
    return absl::StrCat("[\n    \"", absl::StrJoin(tasks, "\",\n    \""), "\"\n  ]");
  };
  return absl::StrCat("{\"cluster\": {\n  \"ps\": ", job(addresses.ps), ",\n  \"worker\": ",
                      job(addresses.worker), "\n}}\n");
}

}  // namespace tessera
