#include "data/shard_reader.h"

#include <glob.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "data/random.h"

namespace tessera {

absl::StatusOr<std::vector<std::string>> MatchShards(const std::string& pattern) {
  if (pattern.empty()) return absl::InvalidArgumentError("empty shard file pattern");
  glob_t matches;
  const int rc = glob(pattern.c_str(), GLOB_ERR, nullptr, &matches);
  std::vector<std::string> files;
  if (rc == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) files.emplace_back(matches.gl_pathv[i]);
  }
  globfree(&matches);
  if (rc == GLOB_NOMATCH || (rc == 0 && files.empty())) {
    return absl::NotFoundError(absl::StrCat("no shard matches '", pattern, "'"));
  }
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot list the shards of '", pattern,
                                               "' (glob error ", rc, ")"));
  }
  std::sort(files.begin(), files.end());
  return files;
}

absl::StatusOr<std::unique_ptr<ShardReader>> ShardReader::Open(const std::string& pattern,
                                                               const ShardReaderOptions& options) {
  if (options.num_parts < 1 || options.part < 0 || options.part >= options.num_parts) {
    return absl::InvalidArgumentError(absl::StrCat("shard reader: part ", options.part, " of ",
                                                   options.num_parts, " is out of range"));
  }
  if (options.cycle_length < 1 || options.shuffle_buffer < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shard reader: cycle_length must be >= 1 and shuffle_buffer >= 0, got ",
        options.cycle_length, " and ", options.shuffle_buffer));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> all, MatchShards(pattern));
  if (static_cast<int64_t>(all.size()) < options.num_parts) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", pattern, "' matches ", all.size(), " shards, fewer than the ", options.num_parts,
        " parts (workers) that read them: every part needs at least one shard"));
  }
  std::vector<std::string> mine;
  for (size_t i = options.part; i < all.size(); i += options.num_parts) mine.push_back(all[i]);
  return std::unique_ptr<ShardReader>(new ShardReader(std::move(mine), options));
}

ShardReader::ShardReader(std::vector<std::string> shards, const ShardReaderOptions& options)
    : shards_(std::move(shards)),
      options_(options),
      buffer_gen_(MixSeed(options.seed ^ 0x5bd1e995u, -1, options.part)) {
  StartEpoch(0);
}

void ShardReader::StartEpoch(int64_t epoch) {
  epoch_ = epoch;
  order_ = shards_;
  std::mt19937_64 gen(MixSeed(options_.seed, epoch, options_.part));
  for (size_t i = order_.size(); i > 1; --i) {
    std::swap(order_[i - 1], order_[UniformBelow(gen, i)]);
  }
  next_shard_ = 0;
  records_this_epoch_ = 0;
}

absl::Status ShardReader::Damaged(const std::string& shard, const absl::Status& error) {
  if (!options_.skip_damaged_shards) return error;
  ++damaged_shards_;
  LOG(WARNING) << "skipping the rest of shard " << shard << ": " << error.message();
  return absl::OkStatus();
}

absl::Status ShardReader::FillCycle() {
  while (static_cast<int>(cycle_.size()) < options_.cycle_length && next_shard_ < order_.size()) {
    const std::string& path = order_[next_shard_++];
    absl::StatusOr<std::unique_ptr<TFRecordReader>> reader = TFRecordReader::Open(path);
    if (!reader.ok()) {
      RETURN_IF_ERROR(Damaged(path, reader.status()));
      continue;
    }
    cycle_.push_back({path, *std::move(reader)});
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ShardReader::NextInterleaved(std::string* record) {
  while (!exhausted_) {
    RETURN_IF_ERROR(FillCycle());
    if (cycle_.empty()) {
      // The epoch is over.
      if (records_this_epoch_ == 0) {
        return absl::DataLossError(absl::StrCat(
            "no record could be read from any of the ", shards_.size(),
            " shards of this part (first: ", shards_.front(), ")"));
      }
      if (!options_.repeat) {
        exhausted_ = true;
        break;
      }
      StartEpoch(epoch_ + 1);
      continue;
    }
    OpenShard shard = std::move(cycle_.front());
    cycle_.pop_front();
    absl::StatusOr<bool> read = shard.reader->ReadRecord(record);
    if (!read.ok()) {
      RETURN_IF_ERROR(Damaged(shard.path, read.status()));
      continue;  // the shard is dropped from the cycle
    }
    if (!*read) continue;  // the shard is done
    cycle_.push_back(std::move(shard));
    ++records_this_epoch_;
    return true;
  }
  return false;
}

absl::StatusOr<bool> ShardReader::Next(std::string* record) {
  if (options_.shuffle_buffer == 0) return NextInterleaved(record);
  while (static_cast<int64_t>(buffer_.size()) < options_.shuffle_buffer) {
    std::string incoming = std::move(*record);  // reuses the caller's buffer
    ASSIGN_OR_RETURN(bool more, NextInterleaved(&incoming));
    if (!more) break;
    buffer_.push_back(std::move(incoming));
  }
  if (buffer_.empty()) return false;
  const size_t pick = UniformBelow(buffer_gen_, buffer_.size());
  std::swap(buffer_[pick], buffer_.back());
  *record = std::move(buffer_.back());
  buffer_.pop_back();
  return true;
}

}  // namespace tessera
