#include "tools/shard_plan.h"

#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(ShardPlanTest, NamesAreTensorFlows) {
  EXPECT_EQ(ShardName("train", 0, 1024), "train-00000-of-01024");
  EXPECT_EQ(ShardName("validation", 127, 128), "validation-00127-of-00128");
}

TEST(ShardPlanTest, ParsesRanges) {
  absl::StatusOr<ShardRange> range = ParseShardRange("3-5", 10);
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->begin, 3);
  EXPECT_EQ(range->end, 6);
  EXPECT_EQ(ParseShardRange("9", 10)->begin, 9);
  for (const char* bad : {"", "5-3", "0-10", "-1", "a-b", "1-2-3"}) {
    EXPECT_EQ(ParseShardRange(bad, 10).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ParseShardRange("0-10", 10).status().message(),
            "--shard_range=0-10: expected A-B with 0 <= A <= B < 10 (train shards first, "
            "then validation shards)");
}

TEST(ShardPlanTest, ArrayTasksCoverEveryShardOnce) {
  for (int total : {1, 7, 1152}) {
    for (int size : {1, 3, 8, 2000}) {
      std::vector<int> count(total, 0);
      for (int index = 0; index < size; ++index) {
        absl::StatusOr<ShardRange> range = ArrayTaskShards(index, size, total);
        ASSERT_TRUE(range.ok()) << range.status();
        for (int s = range->begin; s < range->end; ++s) ++count[s];
      }
      for (int s = 0; s < total; ++s) ASSERT_EQ(count[s], 1) << total << " " << size;
    }
  }
}

TEST(ShardPlanTest, ArrayIndexOutOfRangeIsNamed) {
  EXPECT_EQ(ArrayTaskShards(4, 4, 10).status().message(),
            "array index 4 is outside [0, 4): array ranges must be 0-based (#PBS -J 0-3, "
            "#SBATCH --array=0-3) and --array_size must be the number of tasks");
  EXPECT_FALSE(ArrayTaskShards(-1, 4, 10).ok());
  EXPECT_FALSE(ArrayTaskShards(0, 0, 10).ok());
}

TEST(ShardPlanTest, ImagesSplitEvenly) {
  int64_t covered = 0;
  for (int s = 0; s < 4; ++s) {
    const ImageSpan span = ShardImages(s, 4, 10);
    EXPECT_EQ(span.begin, covered);
    EXPECT_GE(span.end - span.begin, 2);
    EXPECT_LE(span.end - span.begin, 3);
    covered = span.end;
  }
  EXPECT_EQ(covered, 10);
}

}  // namespace
}  // namespace tessera
