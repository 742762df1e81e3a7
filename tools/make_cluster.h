#ifndef TESSERA_TOOLS_MAKE_CLUSTER_H_
#define TESSERA_TOOLS_MAKE_CLUSTER_H_

// The cluster layout behind `tessera_ctl make-cluster`: which host and port
// each task gets, given the job's nodes. Tasks are numbered in rank order
// (ps 0 .. ps N-1, then worker 0 ..; tools/launcher_env.h), and task r goes
// where the launcher puts rank r:
//
//   cyclic  rank r on node r mod N, port P + r div N: what `srun -m cyclic`
//           and `mpirun --map-by node` do. The ps go on the first nodes and,
//           by default (one worker per node), every node runs one worker: a
//           ps node runs its ps on port P and its worker on P+1.
//   block   rank r on node r div T, port P + r mod T (T = tasks per node):
//           what `aprun -N T`, `srun -m block --ntasks-per-node=T` and
//           `mpirun --map-by slot` do. With T = 1 the ps get nodes of their own.
//   listed  entry r of the host list, repeats kept, port P + (how many earlier
//           entries name the same host): for job arrays, whose elements
//           report the host each one landed on.
//
// Pure; thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

enum class ClusterLayout { kCyclic, kBlock, kListed };

// "cyclic", "block", "listed"; INVALID_ARGUMENT naming --layout otherwise.
absl::StatusOr<ClusterLayout> ParseClusterLayout(absl::string_view name);

struct MakeClusterOptions {
  int num_ps = 0;                      // >= 1
  std::optional<int> num_workers;      // default: see MakeClusterAddresses
  int port = 2222;                     // first port on every node
  ClusterLayout layout = ClusterLayout::kCyclic;
  int tasks_per_node = 1;              // block only
};

struct ClusterAddresses {
  std::vector<std::string> ps;      // "host:port", in task order
  std::vector<std::string> worker;
};

// `hosts` is the node list as parsed (repeats kept; cyclic and block drop the
// repeats, listed keeps them). Default worker count: cyclic, one per node;
// block, every slot left after the ps (nodes * T - ps); listed, every entry
// left after the ps. INVALID_ARGUMENT naming the flag when a count is < 1, a
// port falls outside 1-65535, a flag does not fit the layout, or block/listed
// have fewer slots than tasks.
absl::StatusOr<ClusterAddresses> MakeClusterAddresses(const std::vector<std::string>& hosts,
                                                      const MakeClusterOptions& options);

// {"cluster": {"ps": [...], "worker": [...]}} with one task per line.
std::string ClusterJson(const ClusterAddresses& addresses);

}  // namespace tessera

#endif  // TESSERA_TOOLS_MAKE_CLUSTER_H_
