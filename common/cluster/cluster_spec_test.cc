#include "common/cluster/cluster_spec.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

void ExpectError(absl::string_view json, absl::string_view want) {
  auto spec = ClusterSpec::FromJson(json, "c.json");
  ASSERT_FALSE(spec.ok()) << json;
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << json;
  EXPECT_EQ(spec.status().message(), want) << json;
}

TEST(ClusterSpecTest, WrappedAndBareFormsParse) {
  for (absl::string_view json :
       {R"({"cluster": {"ps": ["n1:2222"], "worker": ["n2:2222", "n3:2223"]}})",
        R"({"ps": ["n1:2222"], "worker": ["n2:2222", "n3:2223"]})"}) {
    auto spec = ClusterSpec::FromJson(json, "c.json");
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->num_ps(), 1);
    EXPECT_EQ(spec->num_workers(), 2);
    EXPECT_EQ(spec->NumTasks("evaluator"), 0);
    EXPECT_EQ(*spec->TaskAddress({"worker", 1}), "n3:2223");
    EXPECT_EQ(*spec->TaskAddress({"ps", 0}), "n1:2222");
    EXPECT_TRUE(ClusterSpec::IsChief({"worker", 0}));
    EXPECT_FALSE(ClusterSpec::IsChief({"worker", 1}));
    EXPECT_FALSE(ClusterSpec::IsChief({"ps", 0}));
    auto all = spec->AllTasks();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].first.ToString(), "ps:0");
    EXPECT_EQ(all[2].second, "n3:2223");
  }
}

TEST(ClusterSpecTest, EvaluatorAndIpv6) {
  auto spec = ClusterSpec::FromJson(
      R"({"ps": ["[::1]:2222"], "worker": ["localhost:2223"], "evaluator": ["localhost:2224"]})",
      "c.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->NumTasks("evaluator"), 1);
  auto hp = ParseHostPort("[::1]:2222");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->first, "::1");
  EXPECT_EQ(hp->second, 2222);
}

TEST(ClusterSpecTest, BadInputNamesKeyAndProblem) {
  ExpectError("[1, 2]", "c.json: not a JSON object: Root element must be a message.");
  ExpectError(R"({"ps": ["a:1"], "worker": ["a:1"]})",
              "c.json: address \"a:1\" is used twice: by job \"ps\" task 0 and by job \"worker\" task 0");
  ExpectError(R"({"ps": [], "worker": ["a:1"]})", "c.json: job \"ps\" has no tasks");
  ExpectError(R"({"ps": ["a:99999"], "worker": ["a:1"]})",
              "c.json: job \"ps\" task 0: address \"a:99999\" has bad port \"99999\" (want 1-65535)");
  ExpectError(R"({"ps": ["a:0"], "worker": ["a:1"]})",
              "c.json: job \"ps\" task 0: address \"a:0\" has bad port \"0\" (want 1-65535)");
  ExpectError(R"({"ps": ["a:1"], "worker": ["b:1", "hostonly"]})",
              "c.json: job \"worker\" task 1: address \"hostonly\" has no port (want \"host:port\")");
  ExpectError(R"({"ps": [":22"], "worker": ["b:1"]})",
              "c.json: job \"ps\" task 0: address \":22\" has no host");
  ExpectError(R"({"ps": ["a:1"], "worker": ["b:x"]})",
              "c.json: job \"worker\" task 0: address \"b:x\" has bad port \"x\" (want 1-65535)");
  ExpectError(R"({"ps": ["a:1"], "worker": ["b:1"], "chief": ["c:1"]})",
              "c.json: unknown job \"chief\" (known jobs: ps, worker, evaluator; worker 0 is the chief)");
  ExpectError(R"({"worker": ["b:1"]})",
              "c.json: no \"ps\" job (Tessera needs ps and worker tasks)");
  ExpectError(R"({"ps": ["a:1"]})",
              "c.json: no \"worker\" job (Tessera needs ps and worker tasks)");
  ExpectError(R"({"ps": "a:1", "worker": ["b:1"]})",
              "c.json: job \"ps\" must be a list of \"host:port\" strings");
  ExpectError(R"({"ps": [2222], "worker": ["b:1"]})",
              "c.json: job \"ps\" task 0 is not a \"host:port\" string");
  ExpectError(R"({"cluster": ["a:1"]})", "c.json: \"cluster\" must be an object of jobs");
  ExpectError(R"({"cluster": {"ps": ["a:1"], "worker": ["b:1"]}, "extra": 1})",
              "c.json: unexpected key \"extra\" beside \"cluster\"");
}

TEST(ClusterSpecTest, TaskIndexOutOfRange) {
  auto spec = ClusterSpec::FromJson(R"({"ps": ["a:1"], "worker": ["b:1", "c:1"]})", "c.json");
  ASSERT_TRUE(spec.ok());
  EXPECT_TRUE(spec->ValidateTask({"worker", 1}).ok());
  absl::Status s = spec->ValidateTask({"worker", 2});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "task 2 is out of range: job \"worker\" has 2 task(s) (0-1) in c.json");
  EXPECT_EQ(spec->ValidateTask({"ps", -1}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spec->TaskAddress({"evaluator", 0}).status().message(),
            "job \"evaluator\" is not in the cluster of c.json");
}

TEST(ClusterSpecTest, FromFileNamesThePath) {
  const std::string path = absl::StrCat(testing::TempDir(), "/cluster.json");
  {
    std::ofstream out(path);
    out << R"({"ps": ["localhost:2222"], "worker": ["localhost:2222"]})";
  }
  auto spec = ClusterSpec::FromFile(path);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            absl::StrCat(path, ": address \"localhost:2222\" is used twice: by job \"ps\" task 0 "
                               "and by job \"worker\" task 0"));
  auto missing = ClusterSpec::FromFile("/no/such/cluster.json");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "cannot read cluster file /no/such/cluster.json");
}

TEST(TfConfigTest, ParsesClusterAndTask) {
  auto cfg = ParseTfConfig(
      R"({"cluster": {"ps": ["a:1"], "worker": ["b:1", "c:1"]}, "task": {"type": "worker", "index": 1}})");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->task.job, "worker");
  EXPECT_EQ(cfg->task.index, 1);
  EXPECT_EQ(cfg->cluster.num_workers(), 2);
  EXPECT_EQ(cfg->cluster.source(), "TF_CONFIG");
}

TEST(TfConfigTest, BadTaskIsNamed) {
  EXPECT_EQ(ParseTfConfig(R"({"cluster": {"ps": ["a:1"], "worker": ["b:1"]}})").status().message(),
            "TF_CONFIG: missing \"task\" object, e.g. {\"type\": \"worker\", \"index\": 0}");
  EXPECT_EQ(ParseTfConfig(R"({"cluster": {"ps": ["a:1"], "worker": ["b:1"]},
                              "task": {"type": "worker", "index": 3}})")
                .status()
                .message(),
            "TF_CONFIG: task 3 is out of range: job \"worker\" has 1 task(s) (0-0) in TF_CONFIG");
  EXPECT_EQ(ParseTfConfig(R"({"cluster": {"ps": ["a:1"], "worker": ["b:1"]},
                              "task": {"type": "worker", "index": 0.5}})")
                .status()
                .message(),
            "TF_CONFIG: task: \"index\" must be a non-negative integer, got 0.5");
  EXPECT_EQ(ParseTfConfig(R"({"ps": ["a:1"], "worker": ["b:1"]})").status().message(),
            "TF_CONFIG: missing \"cluster\"");
}

}  // namespace
}  // namespace tessera
