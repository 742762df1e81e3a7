#include "data/shard_reader.h"

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/records/tfrecord.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

class ShardReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()), 0);
  }

  // Writes `shards` shards of `per_shard` records "s<shard>r<record>".
  void WriteShards(int shards, int per_shard) {
    for (int s = 0; s < shards; ++s) {
      auto writer = TFRecordWriter::Create(ShardPath(s, shards));
      ASSERT_TRUE(writer.ok()) << writer.status();
      for (int r = 0; r < per_shard; ++r) {
        ASSERT_TRUE((*writer)->Write(absl::StrCat("s", s, "r", r)).ok());
      }
      ASSERT_TRUE((*writer)->Close().ok());
    }
  }
  std::string ShardPath(int s, int of) const {
    return absl::StrFormat("%s/train-%05d-of-%05d", dir_, s, of);
  }
  std::string Pattern() const { return dir_ + "/train-*"; }

  static std::vector<std::string> ReadAll(ShardReader* reader, int max = 100000) {
    std::vector<std::string> out;
    std::string record;
    while (static_cast<int>(out.size()) < max) {
      absl::StatusOr<bool> more = reader->Next(&record);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      out.push_back(record);
    }
    return out;
  }

  std::string dir_;
};

TEST_F(ShardReaderTest, PartsReadDisjointShardsThatCoverTheSet) {
  WriteShards(5, 3);
  std::multiset<std::string> all;
  for (int part = 0; part < 2; ++part) {
    auto reader = ShardReader::Open(Pattern(), {.num_parts = 2, .part = part, .repeat = false});
    ASSERT_TRUE(reader.ok()) << reader.status();
    EXPECT_EQ((*reader)->shards().size(), part == 0 ? 3u : 2u);
    for (const std::string& r : ReadAll(reader->get())) {
      const int shard = r[1] - '0';
      EXPECT_EQ(shard % 2, part) << r;
      all.insert(r);
    }
  }
  EXPECT_EQ(all.size(), 15u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 15u);  // each once
}

TEST_F(ShardReaderTest, InterleavesOpenShardsOneRecordAtATime) {
  WriteShards(2, 3);
  auto reader = ShardReader::Open(Pattern(), {.cycle_length = 2, .repeat = false});
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> got = ReadAll(reader->get());
  ASSERT_EQ(got.size(), 6u);
  for (size_t i = 0; i + 1 < got.size(); ++i) EXPECT_NE(got[i][1], got[i + 1][1]) << i;
}

TEST_F(ShardReaderTest, ShardOrderIsReshuffledEveryEpochAndFixedBySeed) {
  WriteShards(8, 1);
  auto read_epochs = [&](uint64_t seed) {
    auto reader = ShardReader::Open(Pattern(), {.seed = seed, .cycle_length = 1});
    EXPECT_TRUE(reader.ok());
    std::vector<std::string> got = ReadAll(reader->get(), 8 * 3);
    EXPECT_EQ((*reader)->epoch(), 2);
    return got;
  };
  const std::vector<std::string> a = read_epochs(7);
  EXPECT_EQ(a, read_epochs(7));
  EXPECT_NE(a, read_epochs(8));
  const std::vector<std::string> epoch0(a.begin(), a.begin() + 8), epoch1(a.begin() + 8, a.begin() + 16);
  EXPECT_NE(epoch0, epoch1);
  EXPECT_EQ(std::set<std::string>(epoch0.begin(), epoch0.end()),
            std::set<std::string>(epoch1.begin(), epoch1.end()));
}

TEST_F(ShardReaderTest, ShuffleBufferPermutesRecordsDeterministically) {
  WriteShards(1, 50);
  auto read = [&](int64_t buffer) {
    auto reader = ShardReader::Open(Pattern(), {.seed = 3, .shuffle_buffer = buffer, .repeat = false});
    EXPECT_TRUE(reader.ok());
    return ReadAll(reader->get());
  };
  const std::vector<std::string> plain = read(0);
  const std::vector<std::string> shuffled = read(16);
  ASSERT_EQ(shuffled.size(), 50u);
  EXPECT_NE(shuffled, plain);
  EXPECT_EQ(std::multiset<std::string>(shuffled.begin(), shuffled.end()),
            std::multiset<std::string>(plain.begin(), plain.end()));
  EXPECT_EQ(shuffled, read(16));
  // A buffer of 16 can move a record at most 15 places earlier.
  for (size_t i = 0; i < shuffled.size(); ++i) {
    const size_t source = std::find(plain.begin(), plain.end(), shuffled[i]) - plain.begin();
    EXPECT_LE(source, i + 15) << shuffled[i];
  }
}

TEST_F(ShardReaderTest, BadPatternsAndOptionsAreClearErrors) {
  WriteShards(2, 1);
  auto none = ShardReader::Open(dir_ + "/validation-*", {});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "no shard matches '" + dir_ + "/validation-*'");
  auto few = ShardReader::Open(Pattern(), {.num_parts = 3, .part = 2});
  EXPECT_EQ(few.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(few.status().message().find("matches 2 shards, fewer than the 3 parts"),
            absl::string_view::npos)
      << few.status();
  EXPECT_EQ(ShardReader::Open(Pattern(), {.num_parts = 2, .part = 2}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ShardReader::Open(Pattern(), {.cycle_length = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ShardReader::Open("", {}).status().code(), absl::StatusCode::kInvalidArgument);
}

// Flips a byte of shard 1's second record: its CRC fails.
void Corrupt(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  const std::streamoff second_record_data = (8 + 4 + 4 + 4) + 8 + 4;  // records are 4 bytes
  f.seekp(second_record_data);
  f.put('X');
}

TEST_F(ShardReaderTest, DamagedShardNamesFileAndOffsetOrIsSkippedWhenAllowed) {
  WriteShards(3, 4);
  Corrupt(ShardPath(1, 3));
  {
    auto reader = ShardReader::Open(Pattern(), {.cycle_length = 3, .repeat = false});
    ASSERT_TRUE(reader.ok());
    std::string record;
    absl::Status error;
    for (int i = 0; i < 20 && error.ok(); ++i) {
      absl::StatusOr<bool> more = (*reader)->Next(&record);
      if (!more.ok()) error = more.status();
    }
    EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(error.message().find(ShardPath(1, 3)), absl::string_view::npos) << error;
    EXPECT_NE(error.message().find("offset 20"), absl::string_view::npos) << error;
  }
  auto reader = ShardReader::Open(
      Pattern(), {.cycle_length = 3, .repeat = false, .skip_damaged_shards = true});
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> got = ReadAll(reader->get());
  EXPECT_EQ((*reader)->damaged_shards(), 1);
  EXPECT_EQ(got.size(), 4u + 1u + 4u);  // shard 1 gave its first record only
  EXPECT_EQ(std::count(got.begin(), got.end(), "s1r0"), 1);
}

TEST_F(ShardReaderTest, APartWithNothingReadableIsAnError) {
  WriteShards(1, 2);
  std::ofstream(ShardPath(0, 1), std::ios::binary | std::ios::trunc) << "garbage";
  auto reader = ShardReader::Open(Pattern(), {.skip_damaged_shards = true});
  ASSERT_TRUE(reader.ok());
  std::string record;
  absl::StatusOr<bool> more = (*reader)->Next(&record);
  EXPECT_EQ(more.status().code(), absl::StatusCode::kDataLoss) << more.status();
  EXPECT_EQ((*reader)->damaged_shards(), 1);
}

}  // namespace
}  // namespace tessera
