// Disk faults during a checkpoint save, through FaultFileSystem: a full disk,
// a failed fsync, a failed rename and a torn write. Each save must fail with
// an error naming the file, and leave ckpt-10 (saved before) the latest valid
// checkpoint: the state file still names it and RestoreLatest restores it.

#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/checkpoint/checkpoint_manager.h"
#include "common/checkpoint/checkpoint_test_util.h"
#include "common/clock.h"
#include "common/fault_file_system.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

class CheckpointFaultTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir();
    CheckpointManagerOptions options;
    options.write_options.max_chunk_bytes = 24;  // several records per variable
    options.write_options.file_system = &fs_;
    auto manager = CheckpointManager::Create(dir_, options, &clock_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = *std::move(manager);
    ASSERT_TRUE(manager_->Save(SampleContents(10, "fp", 1.0f)).ok());
  }

  // The temporary or final path of a ckpt-20 file ("data" or "index").
  std::string Temp(absl::string_view kind) const {
    return absl::StrCat(dir_, "/ckpt-20.", kind, ".tmp.", ::getpid());
  }
  std::string Final(absl::string_view kind) const {
    return absl::StrCat(dir_, "/ckpt-20.", kind);
  }

  // Saves ckpt-20 under the armed fault; returns the error.
  absl::Status SaveUnderFault() {
    absl::StatusOr<std::string> saved = manager_->Save(SampleContents(20, "fp", 2.0f));
    EXPECT_FALSE(saved.ok()) << "the save of ckpt-20 succeeded despite the fault";
    return saved.status();
  }

  // ckpt-10 is still what the state file names and what a restore returns,
  // with its own values; no temporary file is left behind.
  void ExpectCkpt10StillLatest() {
    absl::StatusOr<CheckpointState> state = ReadCheckpointState(dir_);
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(state->latest_checkpoint(), "ckpt-10");
    absl::StatusOr<RestoredCheckpoint> restored = RestoreLatest(dir_, "fp");
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_EQ(restored->name, "ckpt-10");
    const CheckpointVariable* b = restored->contents.Find("dense/b");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->value[0], 1.0f);
    absl::StatusOr<std::vector<std::string>> files = DefaultFileSystem()->GetChildren(dir_);
    ASSERT_TRUE(files.ok()) << files.status();
    for (const std::string& file : *files) {
      EXPECT_FALSE(absl::StrContains(file, ".tmp.")) << file << " left behind";
    }
  }

  // After the fault clears, the manager saves ckpt-20 normally.
  void ExpectRetrySucceeds() {
    fs_.Clear();
    absl::StatusOr<std::string> saved = manager_->Save(SampleContents(20, "fp", 2.0f));
    ASSERT_TRUE(saved.ok()) << saved.status();
    absl::StatusOr<RestoredCheckpoint> restored = RestoreLatest(dir_, "fp");
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_EQ(restored->name, "ckpt-20");
  }

  std::string dir_;
  FakeClock clock_;
  FaultFileSystem fs_{DefaultFileSystem()};
  std::unique_ptr<CheckpointManager> manager_;
};

TEST_F(CheckpointFaultTest, FullDiskWhileWritingData) {
  fs_.FailAppend(5, FaultFileSystem::kNoSpace);
  absl::Status s = SaveUnderFault();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", Temp("data"), ": No space left on device"));
  ExpectCkpt10StillLatest();
  ExpectRetrySucceeds();
}

TEST_F(CheckpointFaultTest, FullDiskWhileWritingTheIndex) {
  fs_.FailAppend(1, FaultFileSystem::kNoSpace, ".index");
  absl::Status s = SaveUnderFault();
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", Temp("index"), ": No space left on device"));
  EXPECT_TRUE(FileExists(Final("data"))) << "the data file was renamed before the index failed";
  ExpectCkpt10StillLatest();
  ExpectRetrySucceeds();
}

TEST_F(CheckpointFaultTest, FailedFsyncOfTheData) {
  fs_.FailSync("ckpt-20.data");
  absl::Status s = SaveUnderFault();
  EXPECT_EQ(s.message(), absl::StrCat("cannot fsync ", Temp("data"), ": Input/output error"));
  EXPECT_FALSE(FileExists(Final("data")));
  ExpectCkpt10StillLatest();
  ExpectRetrySucceeds();
}

TEST_F(CheckpointFaultTest, FailedFsyncOfTheIndex) {
  fs_.FailSync("ckpt-20.index");
  absl::Status s = SaveUnderFault();
  EXPECT_EQ(s.message(), absl::StrCat("cannot fsync ", Temp("index"), ": Input/output error"));
  ExpectCkpt10StillLatest();
}

TEST_F(CheckpointFaultTest, FailedRenameOfTheData) {
  fs_.FailRename("ckpt-20.data");
  absl::Status s = SaveUnderFault();
  EXPECT_EQ(s.message(), absl::StrCat("cannot rename ", Temp("data"), " to ", Final("data"),
                                      ": Input/output error"));
  EXPECT_FALSE(FileExists(Final("data")));
  ExpectCkpt10StillLatest();
  ExpectRetrySucceeds();
}

TEST_F(CheckpointFaultTest, FailedRenameOfTheIndexLeavesDataThatIsNeverUsed) {
  fs_.FailRename("ckpt-20.index");
  absl::Status s = SaveUnderFault();
  EXPECT_EQ(s.message(), absl::StrCat("cannot rename ", Temp("index"), " to ", Final("index"),
                                      ": Input/output error"));
  absl::StatusOr<RestoredCheckpoint> restored = RestoreLatest(dir_, "fp");
  ASSERT_TRUE(restored.ok()) << restored.status();
  ASSERT_EQ(restored->skipped.size(), 1u);
  EXPECT_EQ(restored->skipped[0].name, "ckpt-20");
  ExpectCkpt10StillLatest();
  ExpectRetrySucceeds();
}

TEST_F(CheckpointFaultTest, TornWriteOfTheData) {
  fs_.FailAppend(8, FaultFileSystem::kTorn, "ckpt-20.data");
  absl::Status s = SaveUnderFault();
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", Temp("data"), ": Input/output error"));
  ExpectCkpt10StillLatest();
  ExpectRetrySucceeds();
}

TEST_F(CheckpointFaultTest, TornWriteOfTheIndex) {
  fs_.FailAppend(2, FaultFileSystem::kTorn, "ckpt-20.index");  // the index record itself
  absl::Status s = SaveUnderFault();
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", Temp("index"), ": Input/output error"));
  ExpectCkpt10StillLatest();
  ExpectRetrySucceeds();
}

// Faults in the state file: ckpt-20 is complete, but the state file is never
// torn or lost; it still names ckpt-10.
TEST_F(CheckpointFaultTest, StateFileFaultsKeepTheOldStateFile) {
  const std::string state_tmp = absl::StrCat(dir_, "/checkpoint.tmp.", ::getpid());
  fs_.FailAppend(1, FaultFileSystem::kTorn, "checkpoint.tmp");
  EXPECT_EQ(SaveUnderFault().message(),
            absl::StrCat("cannot write to ", state_tmp, ": Input/output error"));
  fs_.Clear();
  fs_.FailRename("checkpoint.tmp");
  EXPECT_EQ(SaveUnderFault().message(),
            absl::StrCat("cannot rename ", state_tmp, " to ", dir_, "/checkpoint: Input/output error"));
  absl::StatusOr<CheckpointState> state = ReadCheckpointState(dir_);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->latest_checkpoint(), "ckpt-10");
  EXPECT_FALSE(FileExists(state_tmp));
}

}  // namespace
}  // namespace tessera
