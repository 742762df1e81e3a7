#ifndef TESSERA_DATA_SHARD_READER_H_
#define TESSERA_DATA_SHARD_READER_H_

// Records from a set of TFRecord shards, read as one worker of a job reads
// them (the record layer of an image-shard input pipeline; what a record holds
// is the caller's business):
//
// - Shards: the files matching a glob(3) pattern ("/data/train-*-of-01024"),
//   sorted by name. NOT_FOUND naming the pattern when nothing matches.
// - Parts: shard i belongs to part i % num_parts (tf.data's shard(n, k) over
//   files), so the workers of a job read disjoint shards; a part without a
//   shard is INVALID_ARGUMENT naming the counts. Evaluation reads all shards
//   (num_parts 1).
// - Epochs: each epoch visits this part's shards in an order drawn from
//   (seed, epoch, part) (data/batch_iterator.h, MixSeed); the same arguments
//   give the same order on every run and machine.
// - Interleave: up to `cycle_length` shards are open at once and records are
//   taken from them in turn, one at a time (tf.data's interleave with
//   block_length 1); a finished shard is replaced by the epoch's next one.
// - Shuffle buffer: records pass through a buffer of `shuffle_buffer`
//   records; each Next() hands out a uniformly chosen one and refills its slot
//   (tf.data's shuffle). 0: no buffer, interleave order.
// - Damage: a record that fails its CRC, a length past the end of the file or
//   an unreadable file is DATA_LOSS / the OS error naming the file and the
//   byte offset. With skip_damaged_shards the rest of that shard is skipped
//   instead, logged and counted (damaged_shards()), and reading goes on; a
//   part whose every shard is damaged is an error all the same.
//
//   ASSIGN_OR_RETURN(auto reader, ShardReader::Open("/data/train-*", {.num_parts = 2, .part = 1}));
//   std::string record;
//   while (...) { ASSIGN_OR_RETURN(bool more, reader->Next(&record)); ... }
//
// Not thread-safe: one thread reads (decode threads take records from it).

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/records/tfrecord.h"
#include "data/record_source.h"

namespace tessera {

// The files matching glob(3) `pattern`, sorted by name. INVALID_ARGUMENT for an
// empty pattern, NOT_FOUND naming it when nothing matches, UNAVAILABLE when the
// directory cannot be listed.
absl::StatusOr<std::vector<std::string>> MatchShards(const std::string& pattern);

struct ShardReaderOptions {
  int num_parts = 1;  // >= 1: the job's workers
  int part = 0;       // in [0, num_parts): this worker's task
  uint64_t seed = 0;
  int cycle_length = 4;         // >= 1: shards open at once
  int64_t shuffle_buffer = 0;   // >= 0 records
  bool repeat = true;           // false: one epoch, then Next() returns false
  bool skip_damaged_shards = false;
};

class ShardReader final : public RecordSource {
 public:
  static absl::StatusOr<std::unique_ptr<ShardReader>> Open(const std::string& pattern,
                                                           const ShardReaderOptions& options);

  // The next record into *record; false once the only epoch is over
  // (repeat = false). Errors as above.
  absl::StatusOr<bool> Next(std::string* record) override;

  // This part's shards, sorted by name.
  const std::vector<std::string>& shards() const { return shards_; }
  // The epoch the shards now being read belong to (0-based).
  int64_t epoch() const { return epoch_; }
  // Shards given up because of damage, since the start.
  int64_t damaged_shards() const { return damaged_shards_; }

 private:
  ShardReader(std::vector<std::string> shards, const ShardReaderOptions& options);
  // The next record in interleave order; false when the epoch (and, without
  // repeat, the reading) is over.
  absl::StatusOr<bool> NextInterleaved(std::string* record);
  // Opens the epoch's next shards until cycle_length are open or none is left.
  absl::Status FillCycle();
  void StartEpoch(int64_t epoch);
  // DATA_LOSS or I/O trouble in `shard`: the error, or a skip when allowed.
  absl::Status Damaged(const std::string& shard, const absl::Status& error);

  const std::vector<std::string> shards_;
  const ShardReaderOptions options_;
  int64_t epoch_ = -1;
  std::vector<std::string> order_;  // this epoch's shard order
  size_t next_shard_ = 0;           // next entry of order_ to open
  struct OpenShard {
    std::string path;
    std::unique_ptr<TFRecordReader> reader;
  };
  std::deque<OpenShard> cycle_;  // open shards; the front gives the next record
  int64_t records_this_epoch_ = 0;
  int64_t damaged_shards_ = 0;
  bool exhausted_ = false;  // repeat = false and the epoch is over
  std::vector<std::string> buffer_;  // the shuffle buffer
  std::mt19937_64 buffer_gen_;
};

}  // namespace tessera

#endif  // TESSERA_DATA_SHARD_READER_H_
