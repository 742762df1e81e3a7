#include "common/parallel_runner.h"

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(ParallelRunnerTest, RunsEveryIndexOnceOnDistinctThreadsAndWaits) {
  ParallelRunner runner(3);
  for (int round = 0; round < 200; ++round) {
    absl::Mutex mu;
    std::multiset<int> seen;
    std::set<std::thread::id> threads;
    const int n = 1 + round % 3;
    runner.Run(n, [&](int i) {
      absl::MutexLock lock(&mu);
      seen.insert(i);
      threads.insert(std::this_thread::get_id());
    });
    ASSERT_EQ(seen.size(), static_cast<size_t>(n)) << "round " << round;
    for (int i = 0; i < n; ++i) EXPECT_EQ(seen.count(i), 1u);
    EXPECT_EQ(threads.size(), static_cast<size_t>(n));
  }
}

TEST(ParallelRunnerTest, CallsRunInParallel) {
  // Index 0 waits for index 1: this only finishes if they run at once.
  ParallelRunner runner(2);
  std::atomic<bool> one_ran{false};
  runner.Run(2, [&](int i) {
    if (i == 1) one_ran = true;
    while (i == 0 && !one_ran) std::this_thread::yield();
  });
  EXPECT_TRUE(one_ran);
}

TEST(ParallelRunnerTest, WidthOneAndOversizedRequests) {
  ParallelRunner runner(1);
  int calls = 0;
  runner.Run(5, [&](int i) { calls += 1 + i; });
  EXPECT_EQ(calls, 1);  // only index 0: n is capped at width
  runner.Run(0, [&](int) { ++calls; });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace tessera
