#ifndef TESSERA_TOOLS_SHARD_PLAN_H_
#define TESSERA_TOOLS_SHARD_PLAN_H_

// Which shards a tessera_records run writes, and which images go into each.
//
// Shards are numbered globally: train shards 0 .. T-1, then validation shards
// T .. T+V-1 (a split that is not converted has no shards). A run writes the
// shards of --shard_range=A-B (inclusive), or the A-th of N near-equal
// contiguous blocks when it is array task A of N, or all of them. Array tasks
// 0 .. N-1 together write every shard exactly once.
// Free functions; thread-safe.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// Shards [begin, end) of the global numbering.
struct ShardRange {
  int begin = 0;
  int end = 0;
  bool Contains(int shard) const { return shard >= begin && shard < end; }
};

// TF's shard file name: "train-00003-of-01024".
std::string ShardName(absl::string_view split, int index, int num_shards);

// "A-B" (inclusive, 0-based) or "A" within [0, total). INVALID_ARGUMENT naming
// the flag value otherwise.
absl::StatusOr<ShardRange> ParseShardRange(absl::string_view text, int total);

// Array task `index` of `size`: shards [index*total/size, (index+1)*total/size).
// INVALID_ARGUMENT when size < 1 or index is outside [0, size) (array ranges
// are 0-based: #PBS -J 0-N-1, #SBATCH --array=0-N-1).
absl::StatusOr<ShardRange> ArrayTaskShards(int index, int size, int total);

// The images of shard `shard` of `num_shards` over `num_images` shuffled
// images: [shard*num_images/num_shards, (shard+1)*num_images/num_shards).
struct ImageSpan {
  int64_t begin = 0;
  int64_t end = 0;
};
ImageSpan ShardImages(int shard, int num_shards, int64_t num_images);

}  // namespace tessera

#endif  // TESSERA_TOOLS_SHARD_PLAN_H_
