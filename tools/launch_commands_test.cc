#include "tools/launch_commands.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code;
  std::string out;
  std::string err;
};

std::string TempFile(const std::string& name, const std::string& contents) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << contents;
  return path;
}

Result MakeCluster(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunMakeCluster(args, out, err);
  return {code, out.str(), err.str()};
}

Result LaunchRole(const std::vector<std::string>& args, const EnvironmentMap& env,
                  const std::vector<std::string>& local_names = {"n1", "10.0.0.1"}) {
  std::ostringstream out, err;
  int code = RunLaunchRole(args, env, local_names, out, err);
  return {code, out.str(), err.str()};
}

TEST(MakeClusterCommandTest, FromPbsNodefile) {
  std::string nodes = TempFile("nodefile", "n1\nn1\nn2\nn2\n");
  Result r = MakeCluster({"--nodes=" + nodes, "--ps=1", "--port=4000"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"cluster\": {\n  \"ps\": [\n    \"n1:4000\"\n  ],\n"
            "  \"worker\": [\n    \"n2:4000\",\n    \"n1:4001\"\n  ]\n}}\n");
}

TEST(MakeClusterCommandTest, FromSlurmList) {
  Result r = MakeCluster({"--nodes_list=nid[01-04]", "--ps=1", "--layout=block"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"nid01:2222\"\n  ],\n  \"worker\": [\n    \"nid02:2222\""));
  // A file holding the compressed list works the same.
  std::string file = TempFile("slurm_list", "nid[01-04]\n");
  EXPECT_EQ(MakeCluster({"--nodes=" + file, "--ps=1", "--layout=block"}).out, r.out);
}

TEST(MakeClusterCommandTest, UsageErrors) {
  EXPECT_EQ(MakeCluster({"--ps=1"}).code, 2);
  EXPECT_THAT(MakeCluster({"--ps=1"}).err, HasSubstr("needs one of --nodes=FILE"));
  EXPECT_THAT(MakeCluster({"--nodes_list=a", "--nodes=f", "--ps=1"}).err,
              HasSubstr("needs one of"));
  EXPECT_THAT(MakeCluster({"--nodes_list=a"}).err, HasSubstr("make-cluster needs --ps=N"));
  EXPECT_THAT(MakeCluster({"--nodes_list=a", "--ps=two"}).err,
              HasSubstr("--ps=two: want a whole number"));
  EXPECT_THAT(MakeCluster({"--nodes_list=a", "--ps=1", "--bogus=1"}).err,
              HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(MakeCluster({"--nodes_list=a", "--ps"}).err, HasSubstr("--ps needs a value"));
  EXPECT_THAT(MakeCluster({"--nodes_list=a", "--ps=1", "--ps=2"}).err,
              HasSubstr("--ps is given twice"));
  EXPECT_THAT(MakeCluster({"--nodes_list=a", "--ps=1", "extra"}).err,
              HasSubstr("unexpected argument \"extra\""));
  EXPECT_THAT(MakeCluster({"--nodes_list=a", "--ps=1", "--layout=x"}).err,
              HasSubstr("--layout=x: want cyclic, block or listed"));
}

TEST(MakeClusterCommandTest, BadInputFails) {
  Result missing = MakeCluster({"--nodes=/nonexistent/nodefile", "--ps=1"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("cannot read node file"));
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/nodefile"));
  std::string empty = TempFile("empty_nodefile", "\n");
  Result r = MakeCluster({"--nodes=" + empty, "--ps=1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "tessera_ctl: " + empty + ": no host names in the node list (it is empty)\n");
  Result bad = MakeCluster({"--nodes_list=n[1-3", "--ps=1"});
  EXPECT_EQ(bad.err, "tessera_ctl: --nodes_list: line 1, column 6: '[' is not closed by ']'\n");
  EXPECT_EQ(MakeCluster({"--nodes_list=a", "--ps=1", "--layout=block"}).code, 1);
  EXPECT_EQ(r.out, "");
}

class LaunchRoleTest : public ::testing::Test {
 protected:
  std::string cluster_ = TempFile(
      "c.json", R"({"cluster": {"ps": ["n1:2222"], "worker": ["n2:2222", "n1:2223"]}})");
};

TEST_F(LaunchRoleTest, PrintsJobAndTaskAndWhichVariable) {
  Result r = LaunchRole({"--cluster=" + cluster_},
                        {{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "3"}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "worker 1\n");
  EXPECT_EQ(r.err,
            "tessera_ctl launch-role: rank 2 from OMPI_COMM_WORLD_RANK is worker:1 at n1:2223 "
            "(this host: n1)\n");
  EXPECT_EQ(LaunchRole({"--cluster=" + cluster_}, {{"PBS_ARRAY_INDEX", "0"}}).out, "ps 0\n");
}

TEST_F(LaunchRoleTest, WarnsWhenTheTaskIsOnAnotherHost) {
  Result r = LaunchRole({"--cluster=" + cluster_}, {{"PMI_RANK", "1"}});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "worker 0\n");
  EXPECT_THAT(r.err, HasSubstr("WARNING: worker:0 is at n2:2222 in " + cluster_ +
                               ", but rank 1 runs on n1 (n1, 10.0.0.1): it will listen here "
                               "while the other tasks look for it on n2."));
}

TEST_F(LaunchRoleTest, WarnsWhenTheLauncherStartedAnotherCount) {
  Result r = LaunchRole({"--cluster=" + cluster_},
                        {{"SLURM_PROCID", "0"}, {"SLURM_STEP_ID", "0"}, {"SLURM_NTASKS", "4"}});
  EXPECT_EQ(r.out, "ps 0\n");
  EXPECT_THAT(r.err, HasSubstr("WARNING: the launcher started 4 rank(s) (SLURM_NTASKS=4) but " +
                               cluster_ + " has 3 tasks; start exactly 3"));
  EXPECT_THAT(r.err, Not(HasSubstr("is at n1:2222")));
}

TEST_F(LaunchRoleTest, Failures) {
  Result none = LaunchRole({"--cluster=" + cluster_}, {});
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, HasSubstr("no launcher rank in the environment"));
  EXPECT_EQ(none.out, "");
  Result out_of_range = LaunchRole({"--cluster=" + cluster_}, {{"PBS_ARRAYID", "3"}});
  EXPECT_EQ(out_of_range.code, 1);
  EXPECT_THAT(out_of_range.err, HasSubstr("rank 3 (from PBS_ARRAYID=3) has no task"));
  EXPECT_EQ(LaunchRole({"--cluster=/nonexistent.json"}, {{"PMI_RANK", "0"}}).code, 1);
  EXPECT_EQ(LaunchRole({}, {{"PMI_RANK", "0"}}).code, 2);
  EXPECT_THAT(LaunchRole({}, {}).err, HasSubstr("launch-role needs --cluster=FILE"));
}

TEST(LocalHostNamesTest, IncludesAName) { EXPECT_FALSE(LocalHostNames().empty()); }

}  // namespace
}  // namespace tessera
