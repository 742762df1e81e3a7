#include "common/records/summary_writer.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cfloat>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/fault_file_system.h"
#include "common/records/tfrecord.h"
#include "gtest/gtest.h"
#include "protos/event.pb.h"

namespace tessera {
namespace {

using tensorflow::Event;
using tensorflow::HistogramProto;

std::string TempDir(const std::string& name) {
  return absl::StrCat(testing::TempDir(), "/summary_writer_test_", name);
}

std::vector<Event> ReadEvents(const std::string& path) {
  std::vector<Event> events;
  auto reader = TFRecordReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return events;
  std::string record;
  while (true) {
    auto more = (*reader)->ReadRecord(&record);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    Event e;
    EXPECT_TRUE(e.ParseFromString(record));
    events.push_back(e);
  }
  return events;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

uint32_t BigEndian32(const std::string& s, size_t pos) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

class SummaryWriterTest : public testing::Test {
 protected:
  // A writer of `dir`, writing through `fs` when given.
  std::unique_ptr<SummaryWriter> MakeWriter(const std::string& dir, FileSystem* fs = nullptr) {
    SummaryWriterOptions options;
    options.clock = &clock_;
    options.hostname = "testhost";
    options.file_system = fs;
    auto writer = SummaryWriter::Create(dir, options);
    EXPECT_TRUE(writer.ok()) << writer.status();
    return writer.ok() ? std::move(*writer) : nullptr;
  }
  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
};

TEST_F(SummaryWriterTest, CreatesDirectoryAndVersionEvent) {
  const std::string dir = TempDir("version") + "/nested/worker_0";
  auto writer = MakeWriter(dir);
  ASSERT_NE(writer, nullptr);
  EXPECT_EQ(writer->path(), dir + "/events.out.tfevents.1700000000.testhost");
  ASSERT_TRUE(writer->Close().ok());
  const std::vector<Event> events = ReadEvents(writer->path());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_DOUBLE_EQ(events[0].wall_time(), 1700000000.0);
}

TEST_F(SummaryWriterTest, ExistingFileIsKept) {
  const std::string dir = TempDir("existing");
  auto first = MakeWriter(dir);
  auto second = MakeWriter(dir);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->path(), first->path() + ".1");
}

TEST_F(SummaryWriterTest, ScalarsHaveTagsStepsAndValues) {
  auto writer = MakeWriter(TempDir("scalars"));
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->AddScalar("loss", 2.5, 10).ok());
  clock_.Advance(absl::Seconds(3));
  ASSERT_TRUE(writer->AddScalar("learning_rate", 0.001, 20).ok());
  ASSERT_TRUE(writer->AddScalars({{"a", 1}, {"b/c", -2}}, 30).ok());
  ASSERT_TRUE(writer->Close().ok());
  const std::vector<Event> events = ReadEvents(writer->path());
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[3].step(), 30);
  ASSERT_EQ(events[3].summary().value_size(), 2);
  EXPECT_EQ(events[3].summary().value(0).tag(), "a");
  EXPECT_EQ(events[3].summary().value(1).tag(), "b/c");
  EXPECT_FLOAT_EQ(events[3].summary().value(1).simple_value(), -2);
  EXPECT_EQ(events[1].step(), 10);
  ASSERT_EQ(events[1].summary().value_size(), 1);
  EXPECT_EQ(events[1].summary().value(0).tag(), "loss");
  EXPECT_FLOAT_EQ(events[1].summary().value(0).simple_value(), 2.5f);
  EXPECT_EQ(events[2].step(), 20);
  EXPECT_EQ(events[2].summary().value(0).tag(), "learning_rate");
  EXPECT_FLOAT_EQ(events[2].summary().value(0).simple_value(), 0.001f);
  EXPECT_DOUBLE_EQ(events[2].wall_time(), 1700000003.0);
}

TEST(HistogramTest, DefaultBucketLimitsAreTensorFlows) {
  const std::vector<double>& limits = DefaultHistogramBucketLimits();
  ASSERT_GT(limits.size(), 1000u);
  ASSERT_EQ(limits.size() % 2, 1u);
  const size_t zero = limits.size() / 2;
  EXPECT_EQ(limits.front(), -DBL_MAX);
  EXPECT_EQ(limits.back(), DBL_MAX);
  EXPECT_EQ(limits[zero], 0.0);
  EXPECT_DOUBLE_EQ(limits[zero + 1], 1e-12);
  EXPECT_DOUBLE_EQ(limits[zero + 2], 1.1e-12);
  EXPECT_LT(limits[limits.size() - 2], 1e20);
  EXPECT_GE(limits[limits.size() - 2] * 1.1, 1e20);
  for (size_t i = 1; i < limits.size(); ++i) {
    ASSERT_LT(limits[i - 1], limits[i]) << i;
    EXPECT_EQ(limits[i], -limits[limits.size() - 1 - i]) << i;
  }
}

TEST(HistogramTest, CountsValuesIntoTheirBuckets) {
  const std::vector<float> values = {0.0f, 0.5f, 0.5f, -0.5f, 2.0f, 1e-20f, -3e5f};
  auto h = MakeHistogram(values);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->num(), 7);
  EXPECT_FLOAT_EQ(h->min(), -3e5f);
  EXPECT_FLOAT_EQ(h->max(), 2.0f);
  EXPECT_NEAR(h->sum(), 0.0 + 0.5 + 0.5 - 0.5 + 2.0 - 3e5, 1e-6);
  EXPECT_NEAR(h->sum_squares(), 0.25 * 3 + 4.0 + 9e10, 1e-3);
  ASSERT_EQ(h->bucket_size(), h->bucket_limit_size());
  double total = 0;
  int nonempty = 0;
  for (int i = 0; i < h->bucket_size(); ++i) {
    total += h->bucket(i);
    if (i > 0) {
      EXPECT_LT(h->bucket_limit(i - 1), h->bucket_limit(i));
      // Runs of empty buckets are merged: never two empty ones in a row.
      EXPECT_FALSE(h->bucket(i - 1) == 0 && h->bucket(i) == 0) << i;
    }
    if (h->bucket(i) == 0) continue;
    ++nonempty;
    // Every counted value lies in [previous limit, this limit).
    const double lo = i == 0 ? -DBL_MAX : h->bucket_limit(i - 1);
    int inside = 0;
    for (float v : values) inside += (v >= lo && v < h->bucket_limit(i));
    EXPECT_EQ(inside, h->bucket(i)) << "bucket ending at " << h->bucket_limit(i);
  }
  EXPECT_EQ(total, values.size());
  EXPECT_EQ(nonempty, 5);  // 0 and 1e-20 share [0, 1e-12)
  EXPECT_EQ(h->bucket_limit(h->bucket_limit_size() - 1), DBL_MAX);
}

TEST_F(SummaryWriterTest, HistogramEventAndNonFiniteValues) {
  auto writer = MakeWriter(TempDir("histogram"));
  ASSERT_NE(writer, nullptr);
  std::vector<float> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(static_cast<float>(i));
  ASSERT_TRUE(writer->AddHistogram("dense/weights", values, 7).ok());
  const absl::Status nan = writer->AddHistogram("bad", {1.0f, NAN}, 8);
  EXPECT_EQ(nan.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(nan.message(), "histogram bad: histogram value 1 of 2 is nan");
  ASSERT_TRUE(writer->Close().ok());
  const std::vector<Event> events = ReadEvents(writer->path());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].step(), 7);
  const tensorflow::Summary::Value& v = events[1].summary().value(0);
  EXPECT_EQ(v.tag(), "dense/weights");
  ASSERT_TRUE(v.has_histo());
  double total = 0;
  for (double c : v.histo().bucket()) total += c;
  EXPECT_EQ(total, 1000);
  EXPECT_EQ(v.histo().num(), 1000);
}

TEST_F(SummaryWriterTest, ImagesArePngsWithTensorFlowTags) {
  auto writer = MakeWriter(TempDir("images"));
  ASSERT_NE(writer, nullptr);
  Tensor images({3, 4, 6, 1});
  for (int64_t i = 0; i < images.size(); ++i) images[i] = (i % 11) / 10.0f;
  images[0] = 7.0f;  // clamped
  ASSERT_TRUE(writer->AddImages("input", images, 2, 5).ok());
  Tensor rgb({1, 2, 2, 3});
  rgb.Fill(0.5f);
  ASSERT_TRUE(writer->AddImages("rgb", rgb, 1, 6).ok());
  EXPECT_EQ(writer->AddImages("flat", Tensor({2, 784}), 1, 6).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(writer->Close().ok());

  const std::vector<Event> events = ReadEvents(writer->path());
  ASSERT_EQ(events.size(), 3u);
  const tensorflow::Summary& s = events[1].summary();
  ASSERT_EQ(s.value_size(), 2);
  EXPECT_EQ(s.value(0).tag(), "input/image/0");
  EXPECT_EQ(s.value(1).tag(), "input/image/1");
  std::vector<int> first_pixels;
  for (const auto& v : s.value()) {
    ASSERT_TRUE(v.has_image());
    EXPECT_EQ(v.image().height(), 4);
    EXPECT_EQ(v.image().width(), 6);
    EXPECT_EQ(v.image().colorspace(), 1);
    const std::string& png = v.image().encoded_image_string();
    ASSERT_GT(png.size(), 33u);
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    EXPECT_EQ(png.substr(12, 4), "IHDR");
    EXPECT_EQ(BigEndian32(png, 16), 6u);  // width
    EXPECT_EQ(BigEndian32(png, 20), 4u);  // height
    EXPECT_EQ(png[25], 0);                // grayscale
    // The IDAT chunk follows IHDR (8 + 25 bytes) and inflates to 4 rows of 1 + 6 bytes.
    const uint32_t idat_length = BigEndian32(png, 33);
    EXPECT_EQ(png.substr(37, 4), "IDAT");
    std::string raw(100, '\0');
    uLongf raw_size = raw.size();
    ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(&raw[0]), &raw_size,
                         reinterpret_cast<const Bytef*>(png.data() + 41), idat_length),
              Z_OK);
    EXPECT_EQ(raw_size, 4u * (1 + 6));
    first_pixels.push_back(static_cast<uint8_t>(raw[1]));
  }
  // The first pixel of image 0 was clamped to 255; image 1's first pixel is
  // element 24: (24 % 11) / 10 = 0.2 -> 51.
  EXPECT_EQ(first_pixels, std::vector<int>({255, 51}));
  const std::string& rgb_png = events[2].summary().value(0).image().encoded_image_string();
  EXPECT_EQ(events[2].summary().value(0).tag(), "rgb/image");
  EXPECT_EQ(events[2].summary().value(0).image().colorspace(), 3);
  EXPECT_EQ(rgb_png[25], 2);  // truecolor
}

TEST_F(SummaryWriterTest, FlushesAfterTheIntervalAndOnFlush) {
  auto writer = MakeWriter(TempDir("flush"));
  ASSERT_NE(writer, nullptr);
  const int64_t header_size = FileSize(writer->path());
  ASSERT_GT(header_size, 0);
  ASSERT_TRUE(writer->AddScalar("a", 1, 1).ok());
  EXPECT_EQ(FileSize(writer->path()), header_size);  // still buffered
  clock_.Advance(absl::Seconds(11));
  ASSERT_TRUE(writer->AddScalar("b", 2, 2).ok());
  const int64_t two = FileSize(writer->path());
  EXPECT_GT(two, header_size);
  ASSERT_TRUE(writer->AddScalar("c", 3, 3).ok());
  EXPECT_EQ(FileSize(writer->path()), two);
  ASSERT_TRUE(writer->Flush().ok());
  EXPECT_GT(FileSize(writer->path()), two);
  EXPECT_EQ(ReadEvents(writer->path()).size(), 4u);
}

TEST_F(SummaryWriterTest, WritesAfterCloseFailNamingTheFile) {
  auto writer = MakeWriter(TempDir("closed"));
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Close().ok());
  const absl::Status s = writer->AddScalar("loss", 1, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), writer->path() + " is closed");
}

TEST_F(SummaryWriterTest, DirectoryThatIsAFileIsAnError) {
  const std::string file = TempDir("not_a_dir");
  std::ofstream(file) << "x";
  SummaryWriterOptions options;
  options.clock = &clock_;
  auto writer = SummaryWriter::Create(file + "/sub", options);
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find(file), absl::string_view::npos)
      << writer.status().message();
}

TEST_F(SummaryWriterTest, ConcurrentWritersLoseNothing) {
  auto writer = MakeWriter(TempDir("threads"));
  ASSERT_NE(writer, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&writer, t] {
      for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(writer->AddScalar(absl::StrCat("t", t), i, i).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(ReadEvents(writer->path()).size(), 1u + 4 * 50);
}

// Disk faults: a failed write or fsync is an error naming the event file, and
// the writer stays usable, so training (which logs and goes on, or stops, as
// its config says) writes later summaries once the disk recovers, in a new
// event file: the damaged one may end in part of an event.
TEST_F(SummaryWriterTest, FullDiskAndFailedFsyncNameTheFileAndWritingGoesOnInANewFile) {
  FaultFileSystem fs(DefaultFileSystem());
  const std::string dir = TempDir("faults");
  std::unique_ptr<SummaryWriter> writer = MakeWriter(dir, &fs);
  ASSERT_NE(writer, nullptr);
  const std::string first = writer->path();
  ASSERT_TRUE(writer->AddScalar("loss", 1.0, 1).ok());

  fs.FailAppend(1, FaultFileSystem::kNoSpace);
  absl::Status s = writer->AddScalar("loss", 2.0, 2);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", first, ": No space left on device"));
  s = writer->AddScalar("loss", 3.0, 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << "the disk is still full";
  EXPECT_EQ(s.message(),
            absl::StrCat("cannot write to ", first, ".1: No space left on device"));
  EXPECT_FALSE(std::filesystem::exists(first + ".1")) << "no empty file left by the try";
  fs.Clear();
  ASSERT_TRUE(writer->AddScalar("loss", 4.0, 4).ok());
  const std::string second = writer->path();
  EXPECT_EQ(second, first + ".1");
  fs.FailSync();
  s = writer->Flush();
  EXPECT_EQ(s.message(), absl::StrCat("cannot fsync ", second, ": Input/output error"));

  fs.Clear();
  ASSERT_TRUE(writer->AddScalar("loss", 5.0, 5).ok());
  const std::string third = writer->path();
  EXPECT_EQ(third, first + ".2");
  ASSERT_TRUE(writer->Close().ok());
  const std::vector<Event> before = ReadEvents(first);
  ASSERT_EQ(before.size(), 2u) << "version, step 1";
  EXPECT_EQ(before[1].step(), 1);
  const std::vector<Event> between = ReadEvents(second);
  ASSERT_EQ(between.size(), 2u) << "version, step 4 (its fsync failed, but the page cache kept it)";
  EXPECT_EQ(between[1].step(), 4);
  const std::vector<Event> after = ReadEvents(third);
  ASSERT_EQ(after.size(), 2u) << "version, step 5";
  EXPECT_TRUE(after[0].has_file_version());
  EXPECT_EQ(after[1].step(), 5);
  EXPECT_FLOAT_EQ(after[1].summary().value(0).simple_value(), 5.0f);
}

TEST_F(SummaryWriterTest, TornWriteNamesTheFileAndLaterEventsAreReadableInTheNext) {
  FaultFileSystem fs(DefaultFileSystem());
  std::unique_ptr<SummaryWriter> writer = MakeWriter(TempDir("torn"), &fs);
  ASSERT_NE(writer, nullptr);
  const std::string torn = writer->path();
  ASSERT_TRUE(writer->AddScalar("loss", 1.0, 1).ok());
  fs.FailAppend(2, FaultFileSystem::kTorn);  // the event itself, after its header
  absl::Status s = writer->AddScalar("loss", 2.0, 2);
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", torn, ": Input/output error"));
  EXPECT_TRUE(writer->AddScalar("loss", 3.0, 3).ok());
  EXPECT_TRUE(writer->Close().ok());

  // The torn file: its events up to the fault, then DATA_LOSS.
  std::unique_ptr<TFRecordReader> reader = *TFRecordReader::Open(torn);
  std::string record;
  ASSERT_TRUE(*reader->ReadRecord(&record));  // version
  ASSERT_TRUE(*reader->ReadRecord(&record));  // step 1
  EXPECT_EQ(reader->ReadRecord(&record).status().code(), absl::StatusCode::kDataLoss);
  const std::vector<Event> next = ReadEvents(torn + ".1");
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[1].step(), 3);
}

TEST(SummaryWriterFaultTest, UncreatableEventFileIsNamed) {
  FaultFileSystem fs(DefaultFileSystem());
  SummaryWriterOptions options;
  options.file_system = &fs;
  options.hostname = "testhost";
  const std::string dir = TempDir("fault_create");
  fs.FailAppend(1, FaultFileSystem::kNoSpace);  // the file-version event
  auto writer = SummaryWriter::Create(dir, options);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(writer.status().message().find(dir + "/events.out.tfevents."), std::string::npos)
      << writer.status();
}

}  // namespace
}  // namespace tessera
