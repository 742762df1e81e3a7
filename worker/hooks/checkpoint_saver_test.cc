#include "worker/hooks/checkpoint_saver.h"

#include <cstdlib>
#include <string>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

std::string FreshDir() {
  static int counter = 0;
  return absl::StrCat(::testing::TempDir(), "saver_", getpid(), "_", ++counter);
}

CheckpointContents Contents(int64_t step) {
  CheckpointContents contents;
  contents.metadata.global_step = step;
  contents.metadata.model_fingerprint = "sgd:0123456789abcdef";
  contents.metadata.optimizer = "sgd";
  contents.variables.push_back({"w", Tensor({2}, {1.0f * step, 2.0f}), {}});
  return contents;
}

class CheckpointSaverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir();
    auto manager = CheckpointManager::Create(dir_, {}, &clock_);
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = *std::move(manager);
  }
  FakeClock clock_;
  std::string dir_;
  std::unique_ptr<CheckpointManager> manager_;
};

TEST_F(CheckpointSaverTest, WritesInTheBackgroundOneAtATime) {
  absl::Notification release;
  std::vector<std::string> saved;
  CheckpointSaverOptions options;
  // The first write blocks in on_saved until released: the saver stays busy.
  options.on_saved = [&](const std::string& path) {
    saved.push_back(path);
    if (saved.size() == 1) release.WaitForNotification();
  };
  CheckpointSaver saver(manager_.get(), options);
  ASSERT_TRUE(saver.TryStart(Contents(10)));
  EXPECT_TRUE(saver.Busy());
  EXPECT_FALSE(saver.TryStart(Contents(20)));  // still writing ckpt-10
  release.Notify();
  EXPECT_TRUE(saver.WaitIdle().ok());
  EXPECT_FALSE(saver.Busy());
  ASSERT_TRUE(saver.TryStart(Contents(30)));
  EXPECT_TRUE(saver.WaitIdle().ok());
  EXPECT_EQ(saved, (std::vector<std::string>{dir_ + "/ckpt-10", dir_ + "/ckpt-30"}));
  absl::StatusOr<RestoredCheckpoint> latest = RestoreLatest(dir_, "sgd:0123456789abcdef");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->name, "ckpt-30");
}

TEST_F(CheckpointSaverTest, SaveNowAndFailuresAreReported) {
  CheckpointSaver saver(manager_.get(), {});
  absl::StatusOr<std::string> name = saver.SaveNow(Contents(5));
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "ckpt-5");
  CheckpointContents bad = Contents(6);
  bad.variables.push_back(bad.variables[0]);  // the same variable twice
  ASSERT_TRUE(saver.TryStart(bad));
  const absl::Status status = saver.WaitIdle();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(status.message(),
            "checkpoint at global step 6 not written: ckpt-6: variable \"w\" added twice");
}

}  // namespace
}  // namespace tessera
