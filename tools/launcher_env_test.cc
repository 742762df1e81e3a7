#include "tools/launcher_env.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using ::testing::HasSubstr;

LauncherRank RankOf(const EnvironmentMap& env) {
  absl::StatusOr<LauncherRank> rank = RankFromEnvironment(env);
  EXPECT_TRUE(rank.ok()) << rank.status();
  return rank.ok() ? *rank : LauncherRank{-1, "", std::nullopt, ""};
}

TEST(RankFromEnvironmentTest, EachLauncher) {
  EXPECT_EQ(RankOf({{"OMPI_COMM_WORLD_RANK", "3"}}).variable, "OMPI_COMM_WORLD_RANK");
  EXPECT_EQ(RankOf({{"PMI_RANK", "2"}}).rank, 2);
  EXPECT_EQ(RankOf({{"ALPS_APP_PE", "5"}}).variable, "ALPS_APP_PE");
  EXPECT_EQ(RankOf({{"SLURM_PROCID", "1"}, {"SLURM_STEP_ID", "0"}}).rank, 1);
  EXPECT_EQ(RankOf({{"SLURM_ARRAY_TASK_ID", "4"}}).rank, 4);
  EXPECT_EQ(RankOf({{"PBS_ARRAY_INDEX", "6"}}).variable, "PBS_ARRAY_INDEX");
  EXPECT_EQ(RankOf({{"PBS_ARRAYID", " 7 "}}).rank, 7);
  EXPECT_EQ(RankOf({{"TESSERA_RANK", "0"}}).variable, "TESSERA_RANK");
}

TEST(RankFromEnvironmentTest, InnermostLauncherWins) {
  // mpirun inside a Slurm batch script inside a PBS array element.
  LauncherRank rank = RankOf({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "3"},
                              {"SLURM_PROCID", "0"}, {"PBS_ARRAY_INDEX", "9"}});
  EXPECT_EQ(rank.rank, 2);
  EXPECT_EQ(rank.variable, "OMPI_COMM_WORLD_RANK");
  EXPECT_EQ(rank.size, 3);
  EXPECT_EQ(rank.size_variable, "OMPI_COMM_WORLD_SIZE");
  EXPECT_EQ(RankOf({{"TESSERA_RANK", "1"}, {"PMI_RANK", "4"}}).variable, "TESSERA_RANK");
  EXPECT_EQ(RankOf({{"PMI_RANK", "1"}, {"SLURM_PROCID", "4"}, {"SLURM_STEP_ID", "0"}}).variable,
            "PMI_RANK");
}

TEST(RankFromEnvironmentTest, SlurmBatchScriptProcIdIsIgnored) {
  // The batch script of an array element has SLURM_PROCID=0 but no step.
  LauncherRank rank = RankOf({{"SLURM_PROCID", "0"}, {"SLURM_ARRAY_TASK_ID", "3"},
                              {"SLURM_ARRAY_TASK_COUNT", "4"}});
  EXPECT_EQ(rank.rank, 3);
  EXPECT_EQ(rank.variable, "SLURM_ARRAY_TASK_ID");
  EXPECT_EQ(rank.size, 4);
}

TEST(RankFromEnvironmentTest, Errors) {
  absl::StatusOr<LauncherRank> none = RankFromEnvironment({{"HOME", "/root"}, {"SLURM_PROCID", "0"}});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(),
              HasSubstr("none of TESSERA_RANK, OMPI_COMM_WORLD_RANK, PMI_RANK, ALPS_APP_PE, "
                        "SLURM_PROCID, SLURM_ARRAY_TASK_ID, PBS_ARRAY_INDEX, PBS_ARRAYID is set"));

  for (const char* bad : {"", "-1", "x", "1.5", "99999999999"}) {
    absl::StatusOr<LauncherRank> rank = RankFromEnvironment({{"PMI_RANK", bad}});
    EXPECT_EQ(rank.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(rank.status().message(), absl::StrCat("PMI_RANK=\"", bad,
                                                    "\" is not a rank (want a whole number >= 0)"));
  }

  absl::StatusOr<LauncherRank> ambiguous =
      RankFromEnvironment({{"SLURM_PROCID", "1"}, {"SLURM_STEP_ID", "0"}, {"SLURM_NTASKS", "3"},
                           {"SLURM_ARRAY_TASK_ID", "2"}});
  EXPECT_EQ(ambiguous.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ambiguous.status().message(), HasSubstr("set TESSERA_RANK"));
}

ClusterSpec Cluster() {
  absl::StatusOr<ClusterSpec> cluster = ClusterSpec::FromJson(
      R"({"cluster": {"ps": ["n1:2222", "n2:2222"], "worker": ["n3:2222", "n1:2223"]}})",
      "c.json");
  EXPECT_TRUE(cluster.ok()) << cluster.status();
  return *cluster;
}

TEST(TaskForRankTest, PsFirstThenWorkers) {
  ClusterSpec cluster = Cluster();
  EXPECT_EQ(TaskForRank(cluster, 0, "PMI_RANK")->ToString(), "ps:0");
  EXPECT_EQ(TaskForRank(cluster, 1, "PMI_RANK")->ToString(), "ps:1");
  EXPECT_EQ(TaskForRank(cluster, 2, "PMI_RANK")->ToString(), "worker:0");
  EXPECT_EQ(TaskForRank(cluster, 3, "PMI_RANK")->ToString(), "worker:1");
  absl::StatusOr<TaskId> out = TaskForRank(cluster, 4, "PBS_ARRAY_INDEX");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(),
            "rank 4 (from PBS_ARRAY_INDEX) has no task: c.json has 2 ps and 2 worker task(s), "
            "ranks 0-3 (job arrays must be numbered from 0, e.g. #PBS -J 0-3)");
}

TEST(IsLocalHostTest, Names) {
  const std::vector<std::string> here = {"n1", "n1.cluster.org", "10.0.0.5"};
  EXPECT_TRUE(IsLocalHost("localhost", here));
  EXPECT_TRUE(IsLocalHost("127.0.0.1", here));
  EXPECT_TRUE(IsLocalHost("::1", here));
  EXPECT_TRUE(IsLocalHost("N1", here));
  EXPECT_TRUE(IsLocalHost("n1.ib.cluster.org", here));
  EXPECT_TRUE(IsLocalHost("10.0.0.5", here));
  EXPECT_FALSE(IsLocalHost("n2", here));
  EXPECT_FALSE(IsLocalHost("10.0.0.6", here));
  EXPECT_FALSE(IsLocalHost("n10", {"n1"}));
}

}  // namespace
}  // namespace tessera
