#include "common/malloc_tuning.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace tessera {
namespace {

// An environment for TuneMalloc.
class FakeEnv {
 public:
  FakeEnv(std::initializer_list<std::pair<const std::string, std::string>> vars)
      : vars_(vars) {}
  const char* operator()(const char* name) const {
    auto it = vars_.find(name);
    return it == vars_.end() ? nullptr : it->second.c_str();
  }

 private:
  std::map<std::string, std::string> vars_;
};

TEST(MallocTuningTest, LeavesWhatTheUserSetAlone) {
#if defined(__SANITIZE_ADDRESS__) || defined(TESSERA_THREAD_SANITIZER)  // .bazelrc
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's, and its mallopt refuses every "
                  "setting";
#endif
  using S = MallocSetting;
  MallocTuning t = TuneMalloc(FakeEnv{{"MALLOC_ARENA_MAX", "8"}});
  EXPECT_EQ(t.arenas, S::kByUser);
  EXPECT_EQ(t.mmap_threshold, S::kSet);
  EXPECT_EQ(t.trim_threshold, S::kSet);
  EXPECT_EQ(t.Describe(),
            "malloc: arenas as the environment sets, mmap threshold 8 MiB, trim threshold 32 MiB");

  t = TuneMalloc(FakeEnv{{"GLIBC_TUNABLES",
                          "glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=0"}});
  EXPECT_EQ(t.arenas, S::kSet);
  EXPECT_EQ(t.mmap_threshold, S::kByUser);
  EXPECT_EQ(t.trim_threshold, S::kByUser);
  EXPECT_EQ(t.Describe(),
            "malloc: 1 arena, mmap threshold as the environment sets, trim threshold as the "
            "environment sets");

  t = TuneMalloc(FakeEnv{{"GLIBC_TUNABLES", "glibc.malloc.arena_max=4"},
                         {"MALLOC_TRIM_THRESHOLD_", "1000000"}});
  EXPECT_EQ(t.arenas, S::kByUser);
  EXPECT_EQ(t.mmap_threshold, S::kSet);
  EXPECT_EQ(t.trim_threshold, S::kByUser);

  t = TuneMalloc(FakeEnv{{"MALLOC_MMAP_THRESHOLD_", "65536"}, {"MALLOC_ARENA_MAX", ""}});
  EXPECT_EQ(t.arenas, S::kSet);  // empty: not set
  EXPECT_EQ(t.mmap_threshold, S::kByUser);
  EXPECT_EQ(t.trim_threshold, S::kSet);
}

TEST(MallocTuningTest, DescribesARefusedSetting) {
  MallocTuning t;
  t.arenas = MallocSetting::kSet;
  t.mmap_threshold = MallocSetting::kFailed;
  t.trim_threshold = MallocSetting::kSet;
  EXPECT_EQ(t.Describe(),
            "malloc: 1 arena, mmap threshold glibc's default (mallopt refused mmap threshold "
            "8 MiB), trim threshold 32 MiB");
}

// The point of the thresholds: a freed 4 MiB buffer (gRPC's TCP read size) is
// reused from the heap, not mapped afresh. With glibc's defaults the first one
// is mmapped (over the initial 128 KiB threshold).
TEST(MallocTuningTest, FourMiBBuffersComeFromTheHeap) {
#if defined(__SANITIZE_ADDRESS__) || defined(TESSERA_THREAD_SANITIZER)  // .bazelrc
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's, and its mallopt refuses every "
                  "setting";
#endif
  const MallocTuning t = TuneMalloc(FakeEnv{});
  ASSERT_EQ(t.mmap_threshold, MallocSetting::kSet) << t.Describe();
  ASSERT_EQ(t.trim_threshold, MallocSetting::kSet) << t.Describe();
  constexpr size_t kBytes = size_t{4} << 20;
  for (int round = 0; round < 3; ++round) {
    const size_t mapped_before = mallinfo2().hblkhd;
    char* buffer = static_cast<char*>(std::malloc(kBytes));
    ASSERT_NE(buffer, nullptr);
    std::memset(buffer, round, kBytes);
    EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "round " << round << ": mmapped";
    const size_t heap_in_use = mallinfo2().arena;
    std::free(buffer);
    // Freed at the heap top, 4 MiB is under the trim threshold: the heap keeps it.
    EXPECT_EQ(mallinfo2().arena, heap_in_use) << "round " << round << ": trimmed";
  }
}

}  // namespace
}  // namespace tessera
