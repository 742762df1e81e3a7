#include "tools/ckpt_command.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/checkpoint.h"
#include "common/checkpoint/checkpoint_manager.h"
#include "common/checkpoint/checkpoint_test_util.h"
#include "common/clock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

class CkptCommandTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir();
    auto manager = CheckpointManager::Create(dir_, CheckpointManagerOptions(), &clock_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    ASSERT_TRUE((*manager)->Save(SampleContents(10)).ok());
    clock_.Advance(absl::Minutes(10));
    ASSERT_TRUE((*manager)->Save(SampleContents(20)).ok());
  }

  int Run(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    return RunCkptCommand(args, out_, err_);
  }

  std::string dir_;
  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CkptCommandTest, UsageErrorsExitTwoWithTheUsage) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"frobnicate", "d"},
                                             {"list"},
                                             {"list", "a", "b"},
                                             {"list", "d", "--name=ckpt-1"},
                                             {"inspect", "d", "--bogus"},
                                             {"export", "d"}}) {
    EXPECT_EQ(Run(args), 2) << args.size();
    EXPECT_NE(err_.str().find("usage: tessera_ctl ckpt list DIR"), std::string::npos);
  }
  Run({"export", dir_});
  EXPECT_NE(err_.str().find("error: ckpt export needs --output=FILE.npz"), std::string::npos);
}

TEST_F(CkptCommandTest, ListShowsEveryCheckpointAndWhyOneIsInvalid) {
  ASSERT_TRUE(SaveCheckpoint(dir_, SampleContents(30)).ok());
  std::string bytes = ReadBytes(dir_ + "/ckpt-30.index");
  WriteBytes(dir_ + "/ckpt-30.index", bytes.substr(0, bytes.size() - 1));
  ASSERT_EQ(Run({"list", dir_}), 0) << err_.str();
  const std::string out = out_.str();
  EXPECT_NE(out.find("NAME"), std::string::npos) << out;
  EXPECT_NE(out.find("ckpt-10                10  2023-11-14 22:13:20 UTC"), std::string::npos)
      << out;
  EXPECT_NE(out.find("ok [latest]"), std::string::npos) << out;
  EXPECT_NE(out.find(absl::StrCat("INVALID (DATA_LOSS): ", dir_,
                                  "/ckpt-30.index: record at byte offset 0 is truncated")),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("[not in state file]"), std::string::npos) << out;

  EXPECT_EQ(Run({"list", dir_ + "/missing"}), 1);
  EXPECT_NE(err_.str().find("error: cannot read checkpoint directory " + dir_ + "/missing"),
            std::string::npos)
      << err_.str();
}

TEST_F(CkptCommandTest, InspectShowsMetadataAndTensorSummaries) {
  ASSERT_EQ(Run({"inspect", dir_}), 0) << err_.str();
  const std::string out = out_.str();
  EXPECT_NE(out.find("checkpoint: ckpt-20 in " + dir_), std::string::npos) << out;
  EXPECT_NE(out.find("global_step: 20\nmodel_fingerprint: fp-1\noptimizer: adam\n"
                     "written: 2023-11-14 22:23:20 UTC\nvariables: 2 (16 values), slots: 2\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  dense/b  [4]  l2=5.47723 min=1 max=4  [1, 2, 3, 4]"), std::string::npos)
      << out;
  EXPECT_NE(out.find("  dense/w  [3, 4]  l2="), std::string::npos) << out;
  EXPECT_NE(out.find("[-2.5, -1.5, -0.5, 0.5, 1.5, ...]"), std::string::npos) << out;
  EXPECT_NE(out.find("    slot m  [3, 4]"), std::string::npos) << out;
  EXPECT_NE(out.find("train_config:\n  batch_size: 50\n"), std::string::npos) << out;

  ASSERT_EQ(Run({"inspect", dir_, "--name=ckpt-10"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("global_step: 10"), std::string::npos);
  EXPECT_EQ(Run({"inspect", dir_, "--name=ckpt-99"}), 1);
  EXPECT_NE(err_.str().find("ckpt-99.index"), std::string::npos) << err_.str();
}

TEST_F(CkptCommandTest, InspectFallsBackPastACorruptNewestAndWarns) {
  std::string bytes = ReadBytes(dir_ + "/ckpt-20.data");
  bytes[20] ^= 1;
  WriteBytes(dir_ + "/ckpt-20.data", bytes);
  ASSERT_EQ(Run({"inspect", dir_}), 0) << err_.str();
  EXPECT_NE(out_.str().find("checkpoint: ckpt-10"), std::string::npos);
  EXPECT_NE(err_.str().find("warning: skipped ckpt-20: " + dir_ + "/ckpt-20.data"),
            std::string::npos)
      << err_.str();
}

TEST_F(CkptCommandTest, ExportWritesVariablesAndSlots) {
  const std::string npz = dir_ + "/out.npz";
  ASSERT_EQ(Run({"export", dir_, "--output=" + npz}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "wrote 4 arrays of ckpt-20 (step 20) to " + npz + "\n");
  const std::string bytes = ReadBytes(npz);
  EXPECT_EQ(bytes.substr(0, 4), std::string("PK\x03\x04", 4));
  for (const char* entry : {"dense/w.npy", "dense/w/m.npy", "dense/w/v.npy", "dense/b.npy"}) {
    EXPECT_NE(bytes.find(entry), std::string::npos) << entry;
  }
  EXPECT_EQ(Run({"export", dir_, "--name=ckpt-10", "--output=/nonexistent/x.npz"}), 1);
  EXPECT_NE(err_.str().find("error: cannot create /nonexistent/x.npz.tmp."), std::string::npos)
      << err_.str();
}

// Batch norm's moving averages are variables of their own kind, without slots:
// inspect names the kind and export writes them beside the trainable ones.
TEST_F(CkptCommandTest, MovingAveragesAreInspectedAndExported) {
  CheckpointContents c = SampleContents(30);
  c.variables.push_back({"bn/moving_mean", Tensor({2}, {0.5f, -1}), {}, MOVING_AVERAGE});
  c.variables.push_back({"bn/moving_variance", Tensor({2}, {2, 3}), {}, MOVING_AVERAGE});
  ASSERT_TRUE(SaveCheckpoint(dir_, c).ok());
  ASSERT_EQ(Run({"inspect", dir_, "--name=ckpt-30"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("variables: 4 (20 values), slots: 2\n"), std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("\n  bn/moving_mean (MOVING_AVERAGE)  [2]  l2="), std::string::npos)
      << out_.str();
  const std::string npz = dir_ + "/bn.npz";
  ASSERT_EQ(Run({"export", dir_, "--name=ckpt-30", "--output=" + npz}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "wrote 6 arrays of ckpt-30 (step 30) to " + npz + "\n");
  const std::string bytes = ReadBytes(npz);
  for (const char* entry : {"bn/moving_mean.npy", "bn/moving_variance.npy"}) {
    EXPECT_NE(bytes.find(entry), std::string::npos) << entry;
  }
  EXPECT_EQ(bytes.find("bn/moving_mean/m.npy"), std::string::npos);
}

}  // namespace
}  // namespace tessera
