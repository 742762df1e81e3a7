#include "tools/shard_writer.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include "common/fault_file_system.h"
#include "common/file_util.h"
#include "common/records/image_example.h"
#include "common/records/test_images.h"
#include "common/records/tfrecord.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/test_dir.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ShardWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir().string();
    for (int i = 0; i < 3; ++i) {
      ImageFile file;
      file.filename = "n01_" + std::to_string(i) + ".JPEG";
      file.path = dir_ + "/" + file.filename;
      file.synset = "n01";
      file.label = 2;
      std::ofstream(file.path, std::ios::binary)
          << testing::RgbJpeg(testing::PatternImage(16, 16, i));
      files_.push_back(file);
    }
    for (const ImageFile& file : files_) job_.images.push_back(&file);
    job_.path = dir_ + "/train-00000-of-00001";
    context_ = ShardContext{&texts_, &boxes_, 2, DefaultFileSystem()};
  }

  // Writes `records` as the shard file itself.
  void WriteRecords(const std::vector<std::string>& records) {
    std::unique_ptr<TFRecordWriter> writer = *TFRecordWriter::Create(job_.path);
    for (const std::string& r : records) ASSERT_TRUE(writer->Write(r).ok());
    ASSERT_TRUE(writer->Close().ok());
  }

  ImageExample Image(int i) {
    ImageExample image;
    image.encoded = "jpeg";
    image.label = 2;
    image.synset = "n01";
    image.filename = files_[i].filename;
    return image;
  }

  std::string dir_;
  std::vector<ImageFile> files_;
  ShardJob job_;
  std::map<std::string, std::string> texts_;
  BoxIndex boxes_;
  ShardContext context_;
};

TEST_F(ShardWriterTest, WritesVerifiesAndRenames) {
  int images = 0;
  absl::StatusOr<ShardResult> result = WriteShard(job_, context_, [&] { ++images; });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->records, 3);
  EXPECT_EQ(images, 3);
  EXPECT_TRUE(fs::exists(job_.path));
  EXPECT_FALSE(fs::exists(job_.path + ".tmp"));
  EXPECT_TRUE(CheckExistingShard(job_, context_).ok());
}

TEST_F(ShardWriterTest, MissingShardIsNotFound) {
  EXPECT_EQ(CheckExistingShard(job_, context_).code(), absl::StatusCode::kNotFound);
}

TEST_F(ShardWriterTest, ShardLackingAReadableImageIsRewritten) {
  WriteRecords({SerializeImageExample(Image(0)), SerializeImageExample(Image(2))});
  EXPECT_TRUE(VerifyShard(job_.path, job_, 2).ok());
  EXPECT_EQ(CheckExistingShard(job_, context_).message(),
            job_.path + " lacks image " + files_[1].path + ", which is readable");
}

TEST_F(ShardWriterTest, TruncatedShardIsDataLossNamingFileAndOffset) {
  WriteRecords({SerializeImageExample(Image(0)), SerializeImageExample(Image(1))});
  const std::string bytes = *ReadFileToString(job_.path);
  std::ofstream(job_.path, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  absl::Status status = VerifyShard(job_.path, job_, 2);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr(job_.path));
}

TEST_F(ShardWriterTest, RecordWithoutEncodedImageIsNamed) {
  Example example = ToExample(Image(0));
  example.mutable_features()->mutable_feature()->erase("image/encoded");
  const std::string first = SerializeImageExample(Image(0));
  WriteRecords({first, example.SerializeAsString()});
  EXPECT_EQ(VerifyShard(job_.path, job_, 2).message(),
            job_.path + " record 1 at offset " + std::to_string(first.size() + 16) +
                ": missing image/encoded");
}

TEST_F(ShardWriterTest, LabelOutOfRangeIsNamed) {
  ImageExample image = Image(0);
  image.label = 5;
  WriteRecords({SerializeImageExample(image)});
  absl::Status status = VerifyShard(job_.path, job_, 2);
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.message(), job_.path +
                                  " record 0 at offset 0: image/class/label 5 is outside [1, 2]");
}

TEST_F(ShardWriterTest, RecordsOutOfOrderAreAForeignShard) {
  const std::string first = SerializeImageExample(Image(2));
  WriteRecords({first, SerializeImageExample(Image(0))});
  absl::Status status = VerifyShard(job_.path, job_, 2);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), job_.path + " record 1 at offset " +
                                  std::to_string(first.size() + 16) +
                                  ": image n01_0.JPEG (label 2) is not the next image this "
                                  "shard should hold");
}

// Disk faults (docs/reliability.md): every one is an error naming the file, and
// leaves neither the shard nor its .tmp file; a rerun on a healthy disk writes
// the very bytes a run without faults writes.
struct DiskFault {
  const char* name;
  std::function<void(FaultFileSystem&)> arm;
  absl::StatusCode code;  // EIO is UNKNOWN (absl::ErrnoToStatusCode)
  const char* message;  // <tmp> and <path> stand for the .tmp file's and the shard's paths
};
void PrintTo(const DiskFault& fault, std::ostream* os) { *os << fault.name; }

class ShardWriterFaultTest : public ShardWriterTest,
                             public ::testing::WithParamInterface<DiskFault> {};

TEST_P(ShardWriterFaultTest, FailsNamingTheFileAndLeavesNothing) {
  ASSERT_TRUE(WriteShard(job_, context_, nullptr).ok());
  const std::string clean = *ReadFileToString(job_.path);
  fs::remove(job_.path);

  FaultFileSystem faults(DefaultFileSystem());
  context_.fs = &faults;
  GetParam().arm(faults);
  absl::StatusOr<ShardResult> result = WriteShard(job_, context_, nullptr);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), GetParam().code);
  std::string expected = GetParam().message;
  expected.replace(expected.find("<tmp>"), 5, job_.path + ".tmp");
  const size_t to = expected.find("<path>");
  if (to != std::string::npos) expected.replace(to, 6, job_.path);
  EXPECT_EQ(result.status().message(), expected);
  EXPECT_FALSE(fs::exists(job_.path));
  EXPECT_FALSE(fs::exists(job_.path + ".tmp"));
  EXPECT_EQ(CheckExistingShard(job_, context_).code(), absl::StatusCode::kNotFound);

  faults.Clear();
  ASSERT_TRUE(WriteShard(job_, context_, nullptr).ok());
  EXPECT_EQ(*ReadFileToString(job_.path), clean);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, ShardWriterFaultTest,
    ::testing::Values(
        DiskFault{"FullDisk", [](FaultFileSystem& f) { f.FailAppend(2, FaultFileSystem::kNoSpace); },
                  absl::StatusCode::kResourceExhausted,
                  "cannot write to <tmp>: No space left on device"},
        DiskFault{"TornWrite", [](FaultFileSystem& f) { f.FailAppend(3, FaultFileSystem::kTorn); },
                  absl::StatusCode::kUnknown, "cannot write to <tmp>: Input/output error"},
        DiskFault{"FailedFsync", [](FaultFileSystem& f) { f.FailSync(); },
                  absl::StatusCode::kUnknown, "cannot fsync <tmp>: Input/output error"},
        DiskFault{"FailedRename", [](FaultFileSystem& f) { f.FailRename(); },
                  absl::StatusCode::kUnknown,
                  "cannot rename <tmp> to <path>: Input/output error"}),
    [](const ::testing::TestParamInfo<DiskFault>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tessera
