#include "common/cluster/task_resolution.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr char kCluster[] = R"({"ps": ["n1:2222"], "worker": ["n2:2223", "n3:2224"]})";

TEST(ResolveTaskTest, FromClusterFile) {
  const std::string path = absl::StrCat(testing::TempDir(), "/c.json");
  std::ofstream(path) << kCluster;
  auto r = ResolveTask("worker", path, 1, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->task.ToString(), "worker:1");
  EXPECT_EQ(r->address, "n3:2224");
  EXPECT_EQ(r->listen_address, "0.0.0.0:2224");
  EXPECT_EQ(ResolveTask("worker", path, 2, std::nullopt).status().message(),
            absl::StrCat("task 2 is out of range: job \"worker\" has 2 task(s) (0-1) in ", path));
  EXPECT_EQ(ResolveTask("worker", path, -1, std::nullopt).status().message(),
            "--task=N is required");
}

TEST(ResolveTaskTest, FromTfConfig) {
  const std::string tf = absl::StrCat(R"({"cluster": )", kCluster,
                                      R"(, "task": {"type": "ps", "index": 0}})");
  auto r = ResolveTask("ps", "", -1, tf);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->address, "n1:2222");
  EXPECT_EQ(ResolveTask("worker", "", -1, tf).status().message(),
            "TF_CONFIG names task ps:0, not a worker task; pass --task");
  auto w = ResolveTask("worker", "", 1, tf);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->address, "n3:2224");
  EXPECT_EQ(ResolveTask("ps", "", 0, std::nullopt).status().message(),
            "--cluster=FILE is required (or set TF_CONFIG)");
}

}  // namespace
}  // namespace tessera
