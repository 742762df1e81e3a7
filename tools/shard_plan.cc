#include "tools/shard_plan.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace tessera {

std::string ShardName(absl::string_view split, int index, int num_shards) {
  return absl::StrFormat("%s-%05d-of-%05d", split, index, num_shards);
}

absl::StatusOr<ShardRange> ParseShardRange(absl::string_view text, int total) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  int first = 0;
  int last = 0;
  const bool parsed = (parts.size() == 1 || parts.size() == 2) &&
                      absl::SimpleAtoi(parts[0], &first) &&
                      absl::SimpleAtoi(parts.back(), &last);
  if (!parsed || first < 0 || last < first || last >= total) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shard_range=", text, ": expected A-B with 0 <= A <= B < ", total,
        " (train shards first, then validation shards)"));
  }
  return ShardRange{first, last + 1};
}

absl::StatusOr<ShardRange> ArrayTaskShards(int index, int size, int total) {
  if (size < 1 || index < 0 || index >= size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "array index ", index, " is outside [0, ", size,
        "): array ranges must be 0-based (#PBS -J 0-", size - 1, ", #SBATCH --array=0-",
        size - 1, ") and --array_size must be the number of tasks"));
  }
  const int64_t t = total;
  return ShardRange{static_cast<int>(index * t / size), static_cast<int>((index + 1) * t / size)};
}

ImageSpan ShardImages(int shard, int num_shards, int64_t num_images) {
  return ImageSpan{shard * num_images / num_shards, (shard + 1) * num_images / num_shards};
}

}  // namespace tessera
