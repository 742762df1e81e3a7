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

}  // namespace
}  // namespace tessera
