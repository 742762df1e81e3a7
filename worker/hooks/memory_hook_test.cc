#include "worker/hooks/memory_hook.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/admin/admin_service.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(MemoryHookTest, TrimsOncePerInterval) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  MemoryHook hook(&clock, absl::Seconds(60));
  StepInfo step;
  ASSERT_TRUE(hook.AfterStep(step).ok());
  EXPECT_EQ(hook.trims(), 0) << "no trim before Begin";
  ASSERT_TRUE(hook.Begin(HookContext{}).ok());
  clock.Advance(absl::Seconds(59));
  ASSERT_TRUE(hook.AfterStep(step).ok());
  EXPECT_EQ(hook.trims(), 0);
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(hook.AfterStep(step).ok());
  EXPECT_EQ(hook.trims(), 1);
  ASSERT_TRUE(hook.AfterStep(step).ok());
  EXPECT_EQ(hook.trims(), 1) << "the next one is an interval later";
  clock.Advance(absl::Seconds(60));
  ASSERT_TRUE(hook.AfterStep(step).ok());
  EXPECT_EQ(hook.trims(), 2);
}

// Free heap memory in the middle of the heap (not at its top, which glibc
// returns by itself) stays resident until a trim gives it back.
TEST(MemoryHookTest, TrimReturnsFreeHeapPages) {
#if defined(__SANITIZE_ADDRESS__) || defined(TESSERA_THREAD_SANITIZER)  // .bazelrc
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's, whose free pages malloc_trim "
                  "returns";
#endif
  constexpr int kBlocks = 512;
  constexpr size_t kBlock = 64 << 10;  // below the mmap threshold: from the heap
  std::vector<char*> blocks;
  for (int i = 0; i < kBlocks; ++i) {
    char* p = static_cast<char*>(std::malloc(kBlock));
    std::memset(p, 1, kBlock);
    blocks.push_back(p);
  }
  char* guard = static_cast<char*>(std::malloc(kBlock));  // keeps the freed ones off the top
  std::memset(guard, 1, kBlock);
  for (char* p : blocks) std::free(p);
  const int64_t before = ResidentSetBytes();

  FakeClock clock(absl::FromUnixSeconds(1000));
  MemoryHook hook(&clock, absl::Seconds(1));
  ASSERT_TRUE(hook.Begin(HookContext{}).ok());
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(hook.AfterStep(StepInfo{}).ok());
  ASSERT_EQ(hook.trims(), 1);
  const int64_t after = ResidentSetBytes();
  std::free(guard);
  // 32 MiB were free; most of it must have gone back.
  EXPECT_GT(before - after, int64_t{16} << 20) << "before " << before << " after " << after;
}

}  // namespace
}  // namespace tessera
