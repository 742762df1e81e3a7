#include "nn/layer_threads.h"

#include <atomic>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "nn/blas_kernel.h"

namespace tessera {
namespace {

class LayerThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = BlasThreads(); }
  void TearDown() override { SetBlasThreads(saved_); }
  int saved_ = 1;
};

TEST_F(LayerThreadsTest, PartsFollowBlasThreadsAndSize) {
  SetBlasThreads(1);
  EXPECT_EQ(LayerParts(1000000, 10), 1);
  SetBlasThreads(2);
  EXPECT_EQ(LayerParts(1000000, 10), 2);
  EXPECT_EQ(LayerParts(19, 10), 1);  // not enough for two parts of 10
  EXPECT_EQ(LayerParts(20, 10), 2);
  EXPECT_EQ(LayerParts(0, 10), 1);
  EXPECT_EQ(LayerParts(5, 0), 2);  // min_per_part below 1 counts as 1
}

TEST_F(LayerThreadsTest, PartsCoverTheRangeOnceInOrder) {
  SetBlasThreads(2);
  for (int64_t count : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{1001}}) {
    const int parts = LayerParts(count, 1);
    std::vector<int> hits(static_cast<size_t>(count), 0);
    std::vector<std::pair<int64_t, int64_t>> ranges(static_cast<size_t>(parts));
    RunLayerParts(parts, count, [&](int part, int64_t begin, int64_t end) {
      ranges[static_cast<size_t>(part)] = {begin, end};
      for (int64_t i = begin; i < end; ++i) ++hits[static_cast<size_t>(i)];
    });
    for (int64_t i = 0; i < count; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)], 1) << i;
    EXPECT_EQ(ranges.front().first, 0);
    EXPECT_EQ(ranges.back().second, count);
    for (size_t p = 1; p < ranges.size(); ++p) EXPECT_EQ(ranges[p].first, ranges[p - 1].second);
  }
}

TEST_F(LayerThreadsTest, TwoThreadsRunTwoParts) {
  SetBlasThreads(2);
  absl::Mutex mu;
  std::set<std::thread::id> ids;
  RunLayerParts(2, 2, [&](int, int64_t, int64_t) {
    absl::MutexLock lock(&mu);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 1u);  // part 0 on the caller
}

TEST_F(LayerThreadsTest, NestedCallsRunSerially) {
  SetBlasThreads(2);
  std::atomic<int> inner_parts{0};
  std::atomic<int> inner_items{0};
  LayerParallelFor(2, 1, [&](int64_t begin, int64_t end) {
    EXPECT_EQ(LayerParts(1000, 1), 1);
    LayerParallelFor(10, 1, [&](int64_t b, int64_t e) {
      ++inner_parts;
      inner_items += static_cast<int>(e - b);
    });
  });
  EXPECT_EQ(inner_parts.load(), 2);   // one part per outer part
  EXPECT_EQ(inner_items.load(), 20);  // each covering all 10
}

TEST_F(LayerThreadsTest, EmptyRangeRunsNothing) {
  SetBlasThreads(2);
  int calls = 0;
  LayerParallelFor(0, 1, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

// Several parts each see OpenBLAS at 1 thread; a single part sees the
// caller's count; the count is back afterwards.
TEST_F(LayerThreadsTest, SerialBlasPartsSeeOneOpenBlasThread) {
  SetBlasThreads(2);
  std::atomic<int> seen_max{0};
  std::atomic<int> calls{0};
  RunLayerPartsOnSerialBlas(2, 10, [&](int, int64_t, int64_t) {
    int threads = BlasThreads();
    int prev = seen_max.load();
    while (threads > prev && !seen_max.compare_exchange_weak(prev, threads)) {
    }
    ++calls;
  });
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(seen_max.load(), 1);
  EXPECT_EQ(BlasThreads(), 2);
  int single = 0;
  RunLayerPartsOnSerialBlas(1, 10, [&](int part, int64_t begin, int64_t end) {
    single = BlasThreads();
    EXPECT_EQ(part, 0);
    EXPECT_EQ(begin, 0);
    EXPECT_EQ(end, 10);
  });
  EXPECT_EQ(single, 2);
}

// Parts 1 .. parts - 1 are added into the sum in part order, on 2 threads
// over a range long enough to be cut.
TEST_F(LayerThreadsTest, AddPartSumsAddsEveryLaterPart) {
  SetBlasThreads(2);
  const int64_t count = 3 * kMinElementsPerPart + 7;
  std::vector<std::vector<float>> parts(3, std::vector<float>(static_cast<size_t>(count)));
  for (int p = 0; p < 3; ++p) {
    for (int64_t i = 0; i < count; ++i) parts[p][i] = static_cast<float>((p + 1) * 1000 + i % 97);
  }
  std::vector<float> want(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) want[i] = (parts[0][i] + parts[1][i]) + parts[2][i];
  AddPartSums(parts[0].data(), 3, count, [&](int p) { return parts[p].data(); });
  for (int64_t i = 0; i < count; ++i) ASSERT_EQ(parts[0][i], want[i]) << i;
  std::vector<float> untouched = parts[1];
  AddPartSums(parts[1].data(), 1, count, [&](int) -> const float* { return nullptr; });
  EXPECT_EQ(parts[1], untouched);
}

}  // namespace
}  // namespace tessera
