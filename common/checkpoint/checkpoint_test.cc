#include "common/checkpoint/checkpoint.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/checkpoint_test_util.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

void ExpectSameTensor(const Tensor& a, const Tensor& b, const std::string& what) {
  EXPECT_EQ(a.shape(), b.shape()) << what;
  ASSERT_EQ(a.size(), b.size()) << what;
  for (int64_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << what << " element " << i;
}

void ExpectSameContents(const CheckpointContents& a, const CheckpointContents& b) {
  EXPECT_EQ(a.metadata.global_step, b.metadata.global_step);
  EXPECT_EQ(a.metadata.model_fingerprint, b.metadata.model_fingerprint);
  EXPECT_EQ(a.metadata.optimizer, b.metadata.optimizer);
  EXPECT_EQ(a.metadata.train_config, b.metadata.train_config);
  EXPECT_EQ(a.metadata.write_time, b.metadata.write_time);
  ASSERT_EQ(a.variables.size(), b.variables.size());
  for (size_t i = 0; i < a.variables.size(); ++i) {
    const CheckpointVariable& x = a.variables[i];
    const CheckpointVariable& y = b.variables[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.kind, y.kind) << x.name;
    ExpectSameTensor(x.value, y.value, x.name);
    ASSERT_EQ(x.slots.size(), y.slots.size()) << x.name;
    for (const auto& [slot, tensor] : x.slots) {
      ASSERT_EQ(y.slots.count(slot), 1u) << x.name << "/" << slot;
      ExpectSameTensor(tensor, y.slots.at(slot), x.name + "/" + slot);
    }
  }
}

TEST(CheckpointNameTest, ParsesOnlyCkptDashDigits) {
  EXPECT_EQ(CheckpointName(1200), "ckpt-1200");
  EXPECT_EQ(*ParseCheckpointName("ckpt-0"), 0);
  EXPECT_EQ(*ParseCheckpointName("ckpt-1200"), 1200);
  for (const char* bad : {"ckpt-", "ckpt-1x", "ckpt--1", "../ckpt-1", "ckpt-1/..", "model-1",
                          "ckpt-99999999999999999999"}) {
    EXPECT_EQ(ParseCheckpointName(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(CheckpointTest, RoundTripKeepsValuesSlotsAndMetadataExactly) {
  const std::string dir = FreshTestDir();
  CheckpointContents contents = SampleContents(1200);
  contents.metadata.train_config = "optimizer { adam { beta1: 0.9 } }\n# \"quoted\" \\ \x01\n";
  contents.variables.push_back({"scalar", Tensor({}, {7.5f}), {{"momentum", Tensor({}, {0.5f})}}});
  contents.variables.push_back({"empty", Tensor({0, 3}), {}});
  contents.variables.push_back({"bn/moving_variance", Tensor({2}, {1.5f, 2}), {}, MOVING_AVERAGE});
  absl::StatusOr<std::string> name = SaveCheckpoint(dir, contents);
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "ckpt-1200");
  EXPECT_TRUE(FileExists(dir + "/ckpt-1200.data"));
  EXPECT_TRUE(FileExists(dir + "/ckpt-1200.index"));

  absl::StatusOr<CheckpointContents> back = ReadCheckpoint(dir, "ckpt-1200");
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameContents(contents, *back);
  ASSERT_NE(back->Find("dense/w"), nullptr);
  EXPECT_EQ(back->Find("nope"), nullptr);

  absl::StatusOr<CheckpointMetadata> meta = VerifyCheckpoint(dir, "ckpt-1200");
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->train_config, contents.metadata.train_config);
}

TEST(CheckpointWriterTest, MovingAveragesHaveNoSlots) {
  const std::string dir = FreshTestDir();
  CheckpointContents contents = SampleContents(5);
  contents.variables.push_back(
      {"bn/moving_mean", Tensor({2}), {{"m", Tensor({2})}}, MOVING_AVERAGE});
  const absl::Status s = SaveCheckpoint(dir, contents).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "ckpt-5: variable \"bn/moving_mean\" is MOVING_AVERAGE and cannot have slots");
}

TEST(CheckpointTest, LargeTensorsAreSplitIntoChunks) {
  const std::string dir = FreshTestDir();
  CheckpointContents contents = SampleContents(5);
  CheckpointWriteOptions options;
  options.max_chunk_bytes = 20;  // 5 floats: dense/w (12) takes 3 records
  ASSERT_TRUE(SaveCheckpoint(dir, contents, options).ok());
  absl::StatusOr<CheckpointIndex> index = ReadCheckpointIndex(dir, "ckpt-5");
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ(index->tensors_size(), 4);
  EXPECT_EQ(index->tensors(0).variable(), "dense/w");
  ASSERT_EQ(index->tensors(0).chunks_size(), 3);
  EXPECT_EQ(index->tensors(0).chunks(2).num_elements(), 2);
  absl::StatusOr<CheckpointContents> back = ReadCheckpoint(dir, "ckpt-5");
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameContents(contents, *back);
}

TEST(CheckpointWriterTest, RejectsBadTensorsNamingThem) {
  const std::string dir = FreshTestDir();
  CheckpointMetadata meta;
  meta.global_step = 3;
  auto writer = CheckpointWriter::Create(dir, meta);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<float> six(6, 1.0f);
  absl::Status s = (*writer)->AddTensor("w", "", {2, 2}, six);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "ckpt-3: variable \"w\" has shape [2, 2] (4 elements) but 6 values");
  ASSERT_TRUE((*writer)->AddTensor("w", "", {2, 3}, six).ok());
  s = (*writer)->AddTensor("w", "", {2, 3}, six);
  EXPECT_EQ(s.message(), "ckpt-3: variable \"w\" added twice");
  ASSERT_TRUE((*writer)->AddTensor("u", "m", {6}, six).ok());
  s = (*writer)->Finish();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "ckpt-3: variable \"u\" has slots but no value was added");
  EXPECT_EQ(CheckpointWriter::Create(dir + "/missing", meta).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CheckpointWriterTest, UnfinishedWriterLeavesNoFiles) {
  const std::string dir = FreshTestDir();
  {
    auto writer = CheckpointWriter::Create(dir, SampleContents(9).metadata);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->AddVariable(SampleContents(9).variables[0]).ok());
  }
  EXPECT_FALSE(FileExists(dir + "/ckpt-9.data"));
  EXPECT_FALSE(FileExists(absl::StrCat(dir, "/ckpt-9.data.tmp.", ::getpid())));
  EXPECT_EQ(ReadCheckpoint(dir, "ckpt-9").status().code(), absl::StatusCode::kNotFound);
}

TEST(CheckpointReaderTest, MissingFilesAndBadNames) {
  const std::string dir = FreshTestDir();
  ASSERT_TRUE(SaveCheckpoint(dir, SampleContents(4)).ok());
  EXPECT_EQ(ReadCheckpoint(dir, "../x").status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(::unlink((dir + "/ckpt-4.data").c_str()), 0);
  absl::Status s = ReadCheckpoint(dir, "ckpt-4").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("ckpt-4.data"), std::string::npos) << s;
}

TEST(CheckpointReaderTest, DataFileOfAnotherSaveFailsTheWholeFileCrc) {
  const std::string dir = FreshTestDir();
  ASSERT_TRUE(SaveCheckpoint(dir, SampleContents(4, "fp", 1.0f)).ok());
  const std::string first = ReadBytes(dir + "/ckpt-4.data");
  ASSERT_TRUE(SaveCheckpoint(dir, SampleContents(4, "fp", 3.0f)).ok());
  WriteBytes(dir + "/ckpt-4.data", first);  // same layout, other values
  absl::Status s = ReadCheckpoint(dir, "ckpt-4").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), dir + "/ckpt-4.data: CRC-32C of the whole file does not match the index");
}

// Every truncation and a bit flip at every byte of both files: a clear error,
// never OK, never a crash.
TEST(CheckpointFuzzTest, EveryTruncationAndBitFlipIsReported) {
  const std::string dir = FreshTestDir();
  CheckpointWriteOptions options;
  options.max_chunk_bytes = 24;
  ASSERT_TRUE(SaveCheckpoint(dir, SampleContents(3), options).ok());
  int cases = 0;
  for (const std::string file : {"ckpt-3.data", "ckpt-3.index"}) {
    const std::string path = dir + "/" + file;
    const std::string original = ReadBytes(path);
    ASSERT_GT(original.size(), 100u);
    auto check = [&](const std::string& bytes, const std::string& what) {
      WriteBytes(path, bytes);
      absl::Status s = ReadCheckpoint(dir, "ckpt-3").status();
      EXPECT_TRUE(s.code() == absl::StatusCode::kDataLoss ||
                  s.code() == absl::StatusCode::kInvalidArgument)
          << what << ": " << s;
      EXPECT_NE(s.message().find(file), std::string::npos) << what << ": " << s;
      ++cases;
    };
    for (size_t len = 0; len < original.size(); ++len) {
      check(original.substr(0, len), absl::StrCat(file, " truncated to ", len));
    }
    for (size_t i = 0; i < original.size(); ++i) {
      std::string flipped = original;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << (i % 8)));
      check(flipped, absl::StrCat(file, " bit ", i % 8, " of byte ", i, " flipped"));
    }
    check(original + std::string(1, '\0'), file + " with a byte appended");
    WriteBytes(path, original);
  }
  EXPECT_GT(cases, 1000);
  EXPECT_TRUE(ReadCheckpoint(dir, "ckpt-3").ok());
}

}  // namespace
}  // namespace tessera
