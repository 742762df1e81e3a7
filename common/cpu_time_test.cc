#include "common/cpu_time.h"

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

// Keeps this thread busy for `d` of wall time (its CPU time grows with it
// whenever it runs).
void Spin(absl::Duration d) {
  const absl::Time end = absl::Now() + d;
  std::atomic<int> sink{0};
  while (absl::Now() < end) sink.fetch_add(1, std::memory_order_relaxed);
}

TEST(ProcessCpuTimeTest, GrowsWithWorkAndNotWithSleep) {
  const absl::Duration before = ProcessCpuTime();
  EXPECT_GT(before, absl::ZeroDuration());
  Spin(absl::Milliseconds(50));
  const absl::Duration spun = ProcessCpuTime();
  // On a busy machine the thread may not run the whole 50 ms; it runs some.
  EXPECT_GT(spun - before, absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_LT(ProcessCpuTime() - spun, absl::Milliseconds(50));
}

TEST(ProcessCpuTimeTest, CountsEveryThread) {
  const absl::Duration before = ProcessCpuTime();
  std::thread other([] { Spin(absl::Milliseconds(50)); });
  other.join();
  EXPECT_GT(ProcessCpuTime() - before, absl::Milliseconds(1));
}

}  // namespace
}  // namespace tessera
