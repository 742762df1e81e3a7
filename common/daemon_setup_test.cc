#include "common/daemon_setup.h"

#include <string>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

const char* NoEnvironment(const char*) { return nullptr; }

// Locks `first` then `second`, each held while the other is taken.
void LockInOrder(absl::Mutex* first, absl::Mutex* second) {
  absl::MutexLock a(first);
  absl::MutexLock b(second);
}

// With Debian's Abseil (built without NDEBUG) taking two mutexes in both
// orders aborts the process unless deadlock detection is off.
TEST(DaemonSetupTest, ToleratesBothLockOrdersOnceSetUp) {
  const DaemonSetup setup = SetUpDaemon(NoEnvironment);
  absl::Mutex x, y;
  LockInOrder(&x, &y);
  LockInOrder(&y, &x);
  SUCCEED();
}

TEST(DaemonSetupTest, LogsEverySetting) {
  const DaemonSetup setup = SetUpDaemon(NoEnvironment);
  const std::vector<std::string> lines = setup.LogLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("malloc: ", 0), 0u) << lines[0];
  EXPECT_EQ(lines[1].rfind("gRPC experiments", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2], "mutex deadlock detection: off");
}

// The fast path's gRPC experiments go on through GRPC_EXPERIMENTS unless the
// user set that variable (even to nothing).
TEST(DaemonSetupTest, GrpcExperimentsLeaveTheUsersChoice) {
  GrpcExperimentsChoice unset = ChooseGrpcExperiments(nullptr);
  EXPECT_EQ(unset.value_to_set, kGrpcExperiments);
  EXPECT_EQ(unset.log_line, "gRPC experiments: tcp_frame_size_tuning,tcp_rcv_lowat");

  GrpcExperimentsChoice empty = ChooseGrpcExperiments("");
  EXPECT_EQ(empty.value_to_set, "");
  EXPECT_EQ(empty.log_line, "gRPC experiments as GRPC_EXPERIMENTS sets: ''");

  GrpcExperimentsChoice user = ChooseGrpcExperiments("tcp_rcv_lowat");
  EXPECT_EQ(user.value_to_set, "");
  EXPECT_EQ(user.log_line, "gRPC experiments as GRPC_EXPERIMENTS sets: 'tcp_rcv_lowat'");
}

TEST(DaemonSetupTest, ReturnsTheEnvironmentToSetInsteadOfSettingIt) {
  const DaemonSetup fresh = SetUpDaemon(NoEnvironment);
  ASSERT_EQ(fresh.environment.size(), 1u);
  EXPECT_EQ(fresh.environment[0].first, "GRPC_EXPERIMENTS");
  EXPECT_EQ(fresh.environment[0].second, kGrpcExperiments);

  const DaemonSetup user = SetUpDaemon([](const char* name) -> const char* {
    return std::string(name) == "GRPC_EXPERIMENTS" ? "" : nullptr;
  });
  EXPECT_TRUE(user.environment.empty());
}

}  // namespace
}  // namespace tessera
