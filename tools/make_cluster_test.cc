#include "tools/make_cluster.h"

#include "common/cluster/cluster_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using ::testing::ElementsAre;

// Options in the order of MakeClusterOptions' fields.
MakeClusterOptions Options(int num_ps, std::optional<int> num_workers = std::nullopt,
                           int port = 2222, ClusterLayout layout = ClusterLayout::kCyclic,
                           int tasks_per_node = 1) {
  MakeClusterOptions options;
  options.num_ps = num_ps;
  options.num_workers = num_workers;
  options.port = port;
  options.layout = layout;
  options.tasks_per_node = tasks_per_node;
  return options;
}

ClusterAddresses Make(const std::vector<std::string>& hosts, const MakeClusterOptions& options) {
  absl::StatusOr<ClusterAddresses> made = MakeClusterAddresses(hosts, options);
  EXPECT_TRUE(made.ok()) << made.status();
  return made.ok() ? *made : ClusterAddresses{};
}

std::string ErrorOf(const std::vector<std::string>& hosts, const MakeClusterOptions& options) {
  absl::StatusOr<ClusterAddresses> made = MakeClusterAddresses(hosts, options);
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(made.status().message());
}

TEST(MakeClusterTest, CyclicPsOnFirstNodesAndAWorkerOnEveryNode) {
  // A PBS nodefile with two slots per node.
  ClusterAddresses c = Make({"n1", "n1", "n2", "n2", "n3", "n3", "n4", "n4"},
                            Options(2));
  EXPECT_THAT(c.ps, ElementsAre("n1:2222", "n2:2222"));
  EXPECT_THAT(c.worker, ElementsAre("n3:2222", "n4:2222", "n1:2223", "n2:2223"));
}

TEST(MakeClusterTest, CyclicOnOneNodeGivesEachTaskItsOwnPort) {
  ClusterAddresses c = Make({"localhost"}, Options(1, 2, 3000));
  EXPECT_THAT(c.ps, ElementsAre("localhost:3000"));
  EXPECT_THAT(c.worker, ElementsAre("localhost:3001", "localhost:3002"));
}

TEST(MakeClusterTest, CyclicMorePsThanNodesWraps) {
  ClusterAddresses c = Make({"a", "b"}, Options(3, 1));
  EXPECT_THAT(c.ps, ElementsAre("a:2222", "b:2222", "a:2223"));
  EXPECT_THAT(c.worker, ElementsAre("b:2223"));
}

TEST(MakeClusterTest, BlockOneTaskPerNodeGivesPsTheirOwnNodes) {
  ClusterAddresses c = Make({"n1", "n2", "n3", "n4"},
                            Options(1, std::nullopt, 2222, ClusterLayout::kBlock));
  EXPECT_THAT(c.ps, ElementsAre("n1:2222"));
  EXPECT_THAT(c.worker, ElementsAre("n2:2222", "n3:2222", "n4:2222"));
}

TEST(MakeClusterTest, BlockSeveralTasksPerNode) {
  ClusterAddresses c = Make({"n1", "n2"}, Options(1, 2, 5000, ClusterLayout::kBlock, 2));
  EXPECT_THAT(c.ps, ElementsAre("n1:5000"));
  EXPECT_THAT(c.worker, ElementsAre("n1:5001", "n2:5000"));
}

TEST(MakeClusterTest, ListedKeepsRepeatsAndCountsPortsPerHost) {
  ClusterAddresses c = Make({"vm", "n2", "vm", "vm"},
                            Options(1, std::nullopt, 2222, ClusterLayout::kListed));
  EXPECT_THAT(c.ps, ElementsAre("vm:2222"));
  EXPECT_THAT(c.worker, ElementsAre("n2:2222", "vm:2223", "vm:2224"));
}

TEST(MakeClusterTest, OutputIsAValidClusterFile) {
  ClusterAddresses c = Make({"n1", "n2", "n3"}, Options(2));
  std::string json = ClusterJson(c);
  EXPECT_EQ(json,
            "{\"cluster\": {\n  \"ps\": [\n    \"n1:2222\",\n    \"n2:2222\"\n  ],\n"
            "  \"worker\": [\n    \"n3:2222\",\n    \"n1:2223\",\n    \"n2:2223\"\n  ]\n}}\n");
  absl::StatusOr<ClusterSpec> spec = ClusterSpec::FromJson(json, "made");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->num_ps(), 2);
  EXPECT_EQ(spec->num_workers(), 3);
}

TEST(MakeClusterTest, Errors) {
  EXPECT_EQ(ErrorOf({"a"}, Options(0)), "--ps=0: want 1 or more");
  EXPECT_EQ(ErrorOf({"a"}, Options(1, 0)), "--workers=0: want 1 or more");
  EXPECT_EQ(ErrorOf({"a"}, Options(1, std::nullopt, 0)), "--port=0: want 1-65535");
  EXPECT_EQ(ErrorOf({"a"}, Options(1, 1, 65535)),
            "--port=65535 is too high: task ports would reach 65536 on a (max 65535)");
  EXPECT_EQ(ErrorOf({"a"}, Options(1, std::nullopt, 2222, ClusterLayout::kCyclic, 2)),
            "--tasks_per_node applies to --layout=block only");
  EXPECT_EQ(ErrorOf({"a", "b"}, Options(2, std::nullopt, 2222, ClusterLayout::kBlock)),
            "no slot is left for a worker: 2 slot(s) (2 node(s) x --tasks_per_node=1) and --ps=2");
  EXPECT_EQ(ErrorOf({"a", "b"}, Options(1, 2, 2222, ClusterLayout::kBlock)),
            "1 ps + 2 workers = 3 tasks do not fit in 2 slot(s) of --layout=block "
            "(2 node(s) x --tasks_per_node=1)");
  EXPECT_EQ(ErrorOf({"a"}, Options(1, std::nullopt, 2222, ClusterLayout::kListed)),
            "no slot is left for a worker: 1 slot(s) (1 node(s) listed) and --ps=1");
  EXPECT_EQ(ErrorOf({}, Options(1)), "the node list is empty");
  EXPECT_EQ(ParseClusterLayout("round").status().message(),
            "--layout=round: want cyclic, block or listed");
}

}  // namespace
}  // namespace tessera
