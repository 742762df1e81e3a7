#include "ps/ps_limits.h"

#include <string>

#include "gtest/gtest.h"
#include "protos/ps_service.pb.h"

namespace tessera {
namespace {

TEST(ValidatePsLimitsTest, DefaultsAreValidAndEachBadValueNamesItsFlag) {
  EXPECT_TRUE(ValidatePsLimits(PsLimits()).ok());
  PsLimits limits;
  limits.max_bytes_held = 0;
  EXPECT_EQ(ValidatePsLimits(limits), absl::InvalidArgumentError("--max_bytes_held must be >= 1, got 0"));
  limits = PsLimits();
  limits.max_blocks = -3;
  EXPECT_EQ(ValidatePsLimits(limits), absl::InvalidArgumentError("--max_blocks must be >= 1, got -3"));
  limits = PsLimits();
  limits.max_block_bytes = 3;
  EXPECT_EQ(ValidatePsLimits(limits),
            absl::InvalidArgumentError("--max_block_bytes must be >= 4 (one float), got 3"));
  limits = PsLimits();
  limits.max_streams_per_peer = 0;
  EXPECT_EQ(ValidatePsLimits(limits),
            absl::InvalidArgumentError("--max_streams_per_peer must be >= 1, got 0"));
}

TEST(ParseMemTotalTest, ReadsKibibytesAndRejectsWhatItCannotRead) {
  EXPECT_EQ(*ParseMemTotal("MemTotal:       24567890 kB\nMemFree:  100 kB\n"),
            int64_t{24567890} * 1024);
  EXPECT_EQ(*ParseMemTotal("MemFree: 1 kB\nMemTotal: 4 kB"), 4096);
  EXPECT_EQ(ParseMemTotal("MemFree: 1 kB\n").status(),
            absl::InvalidArgumentError("no MemTotal line"));
  EXPECT_EQ(ParseMemTotal("MemTotal: lots kB\n").status(),
            absl::InvalidArgumentError("cannot read the MemTotal line 'MemTotal: lots kB'"));
  EXPECT_EQ(ParseMemTotal("MemTotal: 12 MB\n").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DefaultMaxBytesHeld(int64_t{100} << 30), int64_t{80} << 30);
}

TEST(DescribePsLimitsTest, NamesEveryFlag) {
  PsLimits limits;
  limits.max_bytes_held = 1000;
  EXPECT_EQ(DescribePsLimits(limits),
            "--max_bytes_held=1000 --max_blocks=1000000 --max_block_bytes=4294967296 "
            "--max_streams_per_peer=64");
}

CreateVariablesRequest Request(std::initializer_list<std::pair<const char*, int64_t>> blocks) {
  CreateVariablesRequest request;
  for (const auto& [name, elements] : blocks) {
    BlockSpec* spec = request.add_blocks();
    spec->set_name(name);
    spec->mutable_shape()->add_dim(elements);
  }
  return request;
}

TEST(CheckCreateWithinLimitsTest, CountsValuesSlotsAndSyncSumsAgainstBytesHeld) {
  PsLimits limits;
  limits.max_bytes_held = 4000;
  // 2 blocks of 250 and 125 floats with Adam's 2 slots: (1000 + 500) x 3 = 4500 bytes.
  const CreateVariablesRequest request = Request({{"w", 250}, {"b", 125}});
  EXPECT_EQ(CheckCreateWithinLimits(request, 2, 0, limits, 0, 0),
            absl::ResourceExhaustedError(
                "CreateVariables needs 4500 bytes (values, optimizer slots and SYNC buffers of 2 "
                "blocks; the largest, 'w' of shape [250], 3000 bytes); --max_bytes_held is 4000 "
                "and 0 bytes are held"));
  EXPECT_TRUE(CheckCreateWithinLimits(request, 1, 0, limits, 0, 0).ok());  // 3000
  // SYNC adds a buffer per pushing worker: with one, 1500 x 3 again.
  EXPECT_EQ(CheckCreateWithinLimits(request, 1, 1, limits, 0, 0).code(),
            absl::StatusCode::kResourceExhausted);
  // Without slots: values and one SYNC buffer fit (3000), values and two do not (4500).
  EXPECT_TRUE(CheckCreateWithinLimits(request, 0, 1, limits, 0, 0).ok());
  EXPECT_EQ(CheckCreateWithinLimits(request, 0, 2, limits, 0, 0).code(),
            absl::StatusCode::kResourceExhausted);
  // What is held already counts: 3000 + 1001 > 4000.
  EXPECT_EQ(CheckCreateWithinLimits(request, 1, 0, limits, 0, 1001).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(CheckCreateWithinLimits(request, 1, 0, limits, 0, 1000).ok());
  // MOVING_AVERAGE blocks have no slots.
  CreateVariablesRequest averages = request;
  averages.mutable_blocks(0)->set_kind(MOVING_AVERAGE);
  averages.mutable_blocks(1)->set_kind(MOVING_AVERAGE);
  EXPECT_TRUE(CheckCreateWithinLimits(averages, 2, 0, limits, 0, 2500).ok());  // 1500
}

TEST(CheckCreateWithinLimitsTest, ATerabyteVariableDoesNotOverflow) {
  PsLimits limits;
  limits.max_bytes_held = int64_t{18} << 30;
  CreateVariablesRequest request;
  BlockSpec* huge = request.add_blocks();
  huge->set_name("huge");
  huge->mutable_shape()->add_dim(int64_t{1} << 28);
  huge->mutable_shape()->add_dim(1024);
  // Many of them: the sum saturates instead of wrapping around to a small number.
  for (int i = 0; i < 20000; ++i) *request.add_blocks() = *huge;
  EXPECT_EQ(CheckCreateWithinLimits(request, 2, 1, limits, 0, 0).code(),
            absl::StatusCode::kResourceExhausted);
  request.mutable_blocks()->DeleteSubrange(1, 20000);
  EXPECT_EQ(CheckCreateWithinLimits(request, 0, 0, limits, 0, 0),
            absl::ResourceExhaustedError(
                "CreateVariables needs 1099511627776 bytes (values, optimizer slots and SYNC "
                "buffers of 1 blocks; the largest, 'huge' of shape [268435456, 1024], "
                "1099511627776 bytes); --max_bytes_held is 19327352832 and 0 bytes are held"));
}

TEST(CheckCreateWithinLimitsTest, BlockCountAndOneBlocksSize) {
  PsLimits limits;
  limits.max_blocks = 2;
  limits.max_block_bytes = 1024;
  EXPECT_TRUE(CheckCreateWithinLimits(Request({{"a", 256}, {"b", 1}}), 2, 1, limits, 0, 0).ok());
  EXPECT_EQ(CheckCreateWithinLimits(Request({{"a", 1}, {"b", 1}, {"c", 1}}), 0, 0, limits, 0, 0),
            absl::ResourceExhaustedError(
                "CreateVariables asks for 3 blocks; --max_blocks is 2 and 0 blocks are held"));
  EXPECT_EQ(CheckCreateWithinLimits(Request({{"a", 1}}), 0, 0, limits, 2, 0).code(),
            absl::StatusCode::kResourceExhausted);
  // The values alone count for --max_block_bytes (slots count in bytes held).
  EXPECT_EQ(CheckCreateWithinLimits(Request({{"a", 1}, {"big", 257}}), 2, 0, limits, 0, 0),
            absl::ResourceExhaustedError(
                "CreateVariables: block 'big' of shape [257] has 1028 bytes of values; "
                "--max_block_bytes is 1024"));
  EXPECT_TRUE(CheckCreateWithinLimits(Request({}), 2, 0, limits, 5, 1 << 20).ok());
}

}  // namespace
}  // namespace tessera
