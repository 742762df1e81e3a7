// PBS node files and Slurm host lists (tools/node_list.h), and what
// `tessera_ctl make-cluster` makes of them (tools/make_cluster.h): a list
// that parses has only well-formed host names, and every cluster made from it
// is a cluster file that ClusterSpec reads back with the same tasks.
//
// Input: 4 bytes of make-cluster flags (layout, --ps, --workers,
// --tasks_per_node, from small ranges that include bad values), then the
// node list text.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/cluster/cluster_spec.h"
#include "fuzz/fuzz_support.h"
#include "tools/make_cluster.h"
#include "tools/node_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  fuzz::FuzzInput input(data, size);
  MakeClusterOptions options;
  const uint8_t layout = input.Byte();
  options.layout = layout % 3 == 0   ? ClusterLayout::kCyclic
                   : layout % 3 == 1 ? ClusterLayout::kBlock
                                     : ClusterLayout::kListed;
  options.num_ps = input.Small(-1, 6);
  const int workers = input.Small(-2, 12);
  if (workers >= -1) options.num_workers = workers;  // -2: the default
  options.tasks_per_node = input.Small(-1, 6);
  options.port = (layout & 0x80) ? 65530 : 2222;
  const absl::string_view text = input.Rest();

  absl::StatusOr<std::vector<std::string>> hosts = ParseNodeList(text, "nodefile");
  if (!hosts.ok()) {
    FUZZ_CHECK(hosts.status().code() == absl::StatusCode::kInvalidArgument,
               hosts.status().ToString());
    return 0;
  }
  FUZZ_CHECK(!hosts->empty() && hosts->size() <= static_cast<size_t>(kMaxNodeListHosts),
             absl::StrCat(hosts->size(), " hosts"));
  for (const std::string& host : *hosts) {
    FUZZ_CHECK(!host.empty() && host[0] != '-' && host[0] != '.', absl::StrCat("host ", host));
    for (char c : host) {
      FUZZ_CHECK(absl::ascii_isalnum(c) || c == '.' || c == '-' || c == '_',
                 absl::StrCat("host ", host));
    }
  }
  FUZZ_CHECK(UniqueHosts(*hosts).size() <= hosts->size(), "UniqueHosts");

  absl::StatusOr<ClusterAddresses> addresses = MakeClusterAddresses(*hosts, options);
  if (!addresses.ok()) {
    FUZZ_CHECK(addresses.status().code() == absl::StatusCode::kInvalidArgument,
               addresses.status().ToString());
    return 0;
  }
  // The round trip costs seconds for the largest clusters (100,000 tasks)
  // and says nothing more there.
  if (addresses->ps.size() + addresses->worker.size() > 5000) return 0;
  const std::string json = ClusterJson(*addresses);
  absl::StatusOr<ClusterSpec> spec = ClusterSpec::FromJson(json, "make-cluster");
  FUZZ_CHECK(spec.ok(), absl::StrCat("make-cluster wrote a cluster it cannot read: ",
                                     spec.status().ToString(), "\n", json));
  FUZZ_CHECK(spec->num_ps() == static_cast<int>(addresses->ps.size()) &&
                 spec->num_workers() == static_cast<int>(addresses->worker.size()),
             json);
  return 0;
}
