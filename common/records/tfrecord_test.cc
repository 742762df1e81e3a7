#include "common/records/tfrecord.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crc32c.h"
#include "common/fault_file_system.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

std::string TempPath(const std::string& name) {
  return absl::StrCat(testing::TempDir(), "/", name);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::vector<std::string> Records() { return {"hello", "", std::string(1000, 'x'), "end"}; }

void WriteRecords(const std::string& path) {
  auto writer = TFRecordWriter::Create(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (const auto& r : Records()) ASSERT_TRUE((*writer)->Write(r).ok());
  ASSERT_TRUE((*writer)->Sync().ok());
  ASSERT_TRUE((*writer)->Close().ok());
}

TEST(TFRecordTest, ByteLayoutMatchesTensorFlow) {
  const std::string path = TempPath("layout.tfrecord");
  {
    auto writer = TFRecordWriter::Create(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write("abc").ok());
    EXPECT_EQ((*writer)->offset(), 8u + 4u + 3u + 4u);
    ASSERT_TRUE((*writer)->Close().ok());
  }
  std::string bytes = ReadAll(path);
  ASSERT_EQ(bytes.size(), 19u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  uint32_t len_crc = crc32c::Mask(crc32c::Value(bytes.data(), 8));
  EXPECT_EQ(static_cast<uint8_t>(bytes[8]), len_crc & 0xff);
  EXPECT_EQ(static_cast<uint8_t>(bytes[11]), len_crc >> 24);
  EXPECT_EQ(bytes.substr(12, 3), "abc");
  uint32_t data_crc = crc32c::Mask(crc32c::Value("abc", 3));
  EXPECT_EQ(static_cast<uint8_t>(bytes[15]), data_crc & 0xff);
  EXPECT_EQ(static_cast<uint8_t>(bytes[18]), data_crc >> 24);
}

TEST(TFRecordTest, RoundTrip) {
  const std::string path = TempPath("roundtrip.tfrecord");
  WriteRecords(path);
  auto reader = TFRecordReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string record;
  for (const auto& want : Records()) {
    absl::StatusOr<bool> more = (*reader)->ReadRecord(&record);
    ASSERT_TRUE(more.ok()) << more.status();
    ASSERT_TRUE(*more);
    EXPECT_EQ(record, want);
  }
  absl::StatusOr<bool> more = (*reader)->ReadRecord(&record);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_FALSE((*reader)->truncated_tail());
}

TEST(TFRecordTest, MissingFileNamesPath) {
  auto reader = TFRecordReader::Open(TempPath("no/such/file"));
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(reader.status().message().find("no/such/file"), absl::string_view::npos);
}

// Every truncation point: the complete records before it read back; the cut
// record is DATA_LOSS naming the file and its offset, or, when allowed, a
// quiet end with truncated_tail().
TEST(TFRecordTest, EveryTruncationIsReportedOrToleratedAtTail) {
  const std::string path = TempPath("full.tfrecord");
  WriteRecords(path);
  const std::string full = ReadAll(path);
  std::vector<size_t> ends;  // end offset of each record
  size_t pos = 0;
  for (const auto& r : Records()) ends.push_back(pos += 16 + r.size());
  ASSERT_EQ(pos, full.size());

  const std::string cut_path = TempPath("cut.tfrecord");
  for (size_t cut = 0; cut < full.size(); ++cut) {
    WriteAll(cut_path, full.substr(0, cut));
    size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= cut) ++complete;
    const size_t cut_record_offset = complete == 0 ? 0 : ends[complete - 1];
    const bool clean = cut == cut_record_offset;
    for (bool allow : {false, true}) {
      TFRecordReader::Options options;
      options.allow_truncated_tail = allow;
      auto reader = TFRecordReader::Open(cut_path, options);
      ASSERT_TRUE(reader.ok());
      std::string record;
      for (size_t i = 0; i < complete; ++i) {
        auto more = (*reader)->ReadRecord(&record);
        ASSERT_TRUE(more.ok() && *more) << "cut " << cut;
      }
      auto last = (*reader)->ReadRecord(&record);
      if (clean || allow) {
        ASSERT_TRUE(last.ok()) << "cut " << cut << ": " << last.status();
        EXPECT_FALSE(*last);
        EXPECT_EQ((*reader)->truncated_tail(), !clean) << "cut " << cut;
      } else {
        EXPECT_EQ(last.status().code(), absl::StatusCode::kDataLoss) << "cut " << cut;
        EXPECT_NE(last.status().message().find(
                      absl::StrCat(cut_path, ": record at byte offset ", cut_record_offset,
                                   " is truncated")),
                  absl::string_view::npos)
            << last.status();
      }
    }
  }
}

// Found by fuzz/tfrecord_fuzzer (fuzz/regressions/tfrecord_fuzzer/): a header
// whose length (here 2^32 - 1) has a valid CRC made the reader allocate and
// zero that many bytes before finding the file too short. Memory now follows
// the bytes actually read.
TEST(TFRecordTest, CorruptLengthDoesNotAllocateIt) {
  const std::string path = TempPath("huge_length.tfrecord");
  std::string bytes(12, '\0');
  for (int i = 0; i < 4; ++i) bytes[i] = '\xff';  // length 0x00000000ffffffff
  const uint32_t crc = crc32c::Mask(crc32c::Value(bytes.data(), 8));
  for (int i = 0; i < 4; ++i) bytes[8 + i] = static_cast<char>(crc >> (8 * i));
  bytes += "short data";
  WriteAll(path, bytes);
  for (bool allow : {false, true}) {
    TFRecordReader::Options options;
    options.allow_truncated_tail = allow;
    auto reader = TFRecordReader::Open(path, options);
    ASSERT_TRUE(reader.ok());
    std::string record;
    absl::StatusOr<bool> more = (*reader)->ReadRecord(&record);
    if (allow) {
      ASSERT_TRUE(more.ok()) << more.status();
      EXPECT_FALSE(*more);
      EXPECT_TRUE((*reader)->truncated_tail());
    } else {
      EXPECT_EQ(more.status().message(),
                absl::StrCat(path, ": record at byte offset 0 is truncated (data cut short)"));
    }
    EXPECT_LE(record.capacity(), size_t{1} << 20);
  }
}

TEST(TFRecordTest, EveryBitFlipIsDataLoss) {
  const std::string path = TempPath("flip_src.tfrecord");
  WriteRecords(path);
  const std::string full = ReadAll(path);
  const std::string flip_path = TempPath("flip.tfrecord");
  for (size_t byte = 0; byte < full.size(); byte += 7) {
    std::string bad = full;
    bad[byte] ^= static_cast<char>(1 << (byte % 8));
    WriteAll(flip_path, bad);
    TFRecordReader::Options options;
    options.allow_truncated_tail = true;  // a flipped length must still not pass
    options.max_record_bytes = 1 << 20;
    auto reader = TFRecordReader::Open(flip_path, options);
    ASSERT_TRUE(reader.ok());
    std::string record;
    absl::Status status;
    while (true) {
      auto more = (*reader)->ReadRecord(&record);
      if (!more.ok()) {
        status = more.status();
        break;
      }
      if (!*more) break;
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << "flipped byte " << byte;
    EXPECT_NE(status.message().find("CRC mismatch"), absl::string_view::npos) << status;
  }
}

// Disk faults (FaultFileSystem): each error names the file and the operation;
// the records written before the fault stay readable.
TEST(TFRecordFaultTest, FullDiskTornWriteAndFailedFsyncNameTheFile) {
  FaultFileSystem fs(DefaultFileSystem());
  const std::string path = TempPath("faults.tfrecord");
  auto writer = TFRecordWriter::Create(path, &fs);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Write("before").ok());
  const uint64_t good_bytes = (*writer)->offset();

  fs.FailAppend(2, FaultFileSystem::kNoSpace);  // the payload of the next record
  absl::Status s = (*writer)->Write("lost");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", path, ": No space left on device"));
  EXPECT_EQ((*writer)->offset(), good_bytes) << "a failed record is not counted";

  fs.Clear();
  fs.FailSync();
  s = (*writer)->Sync();
  EXPECT_EQ(s.message(), absl::StrCat("cannot fsync ", path, ": Input/output error"));

  fs.Clear();
  fs.FailAppend(1, FaultFileSystem::kTorn);
  s = (*writer)->Write("torn header");
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", path, ": Input/output error"));
  ASSERT_TRUE((*writer)->Close().ok());

  // "before", then the header of "lost" (12 bytes), then half a header: the
  // reader names the file and the offset of the damage.
  auto reader = TFRecordReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string record;
  ASSERT_TRUE(*(*reader)->ReadRecord(&record));
  EXPECT_EQ(record, "before");
  absl::StatusOr<bool> more = (*reader)->ReadRecord(&record);
  EXPECT_EQ(more.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(more.status().message().find(
                absl::StrCat(path, ": record at byte offset ", good_bytes)),
            std::string::npos)
      << more.status();
}

}  // namespace
}  // namespace tessera
