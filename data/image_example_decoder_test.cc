#include "data/image_example_decoder.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/records/image_example.h"
#include "common/records/tfrecord.h"
#include "data/batch_pipeline.h"
#include "data/shard_reader.h"
#include "data/test_images.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using testing::MakeTestJpeg;
using testing::TestJpegKind;

ImageExampleDecoderOptions SmallOptions(bool training) {
  ImageExampleDecoderOptions options;
  options.augment.out_height = 32;
  options.augment.out_width = 32;
  options.augment.eval_resize_min = 36;
  options.training = training;
  options.num_classes = 10;
  return options;
}

std::string Record(int64_t label, const std::string& filename, uint32_t seed = 1) {
  ImageExample image;
  image.encoded = MakeTestJpeg(TestJpegKind::kRgb420, 60, 80, 90, seed);
  image.height = 60;
  image.width = 80;
  image.label = label;
  image.filename = filename;
  return SerializeImageExample(image);
}

TEST(ImageExampleDecoderTest, DecodesImageAndZeroBasedLabel) {
  auto decoder = ImageExampleDecoder::Create(SmallOptions(true));
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  ASSERT_EQ((*decoder)->example_size(), 32 * 32 * 3);
  std::vector<float> a(32 * 32 * 3), b(a.size()), c(a.size());
  int32_t label = -1;
  ASSERT_TRUE((*decoder)->Decode(Record(3, "x.JPEG"), 7, absl::MakeSpan(a), &label).ok());
  EXPECT_EQ(label, 2);  // TF's labels start at 1
  for (float v : a) {
    ASSERT_TRUE(std::isfinite(v));
    ASSERT_GE(v, -1.0f);
    ASSERT_LE(v, 1.0f);
  }
  ASSERT_TRUE((*decoder)->Decode(Record(3, "x.JPEG"), 7, absl::MakeSpan(b), &label).ok());
  EXPECT_EQ(a, b);  // same seed, same example
  bool some_seed_differs = false;
  for (uint64_t seed = 8; seed < 12 && !some_seed_differs; ++seed) {
    ASSERT_TRUE((*decoder)->Decode(Record(3, "x.JPEG"), seed, absl::MakeSpan(c), &label).ok());
    some_seed_differs = c != a;
  }
  EXPECT_TRUE(some_seed_differs);
}

TEST(ImageExampleDecoderTest, EvaluationIgnoresTheSeed) {
  auto decoder = ImageExampleDecoder::Create(SmallOptions(false));
  ASSERT_TRUE(decoder.ok());
  std::vector<float> a(32 * 32 * 3), b(a.size());
  int32_t label = -1;
  ASSERT_TRUE((*decoder)->Decode(Record(10, "y.JPEG"), 1, absl::MakeSpan(a), &label).ok());
  ASSERT_TRUE((*decoder)->Decode(Record(10, "y.JPEG"), 2, absl::MakeSpan(b), &label).ok());
  EXPECT_EQ(a, b);
  EXPECT_EQ(label, 9);
}

TEST(ImageExampleDecoderTest, BadRecordsAreErrorsNamingTheImage) {
  auto decoder = ImageExampleDecoder::Create(SmallOptions(true));
  ASSERT_TRUE(decoder.ok());
  std::vector<float> out(32 * 32 * 3);
  int32_t label = 0;
  absl::Status high = (*decoder)->Decode(Record(11, "big.JPEG"), 1, absl::MakeSpan(out), &label);
  EXPECT_EQ(high.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(high.message(),
            "big.JPEG: image/class/label 11 is outside [1, 10] (10 classes, labels from 1)");
  EXPECT_EQ((*decoder)->Decode(Record(0, "bg.JPEG"), 1, absl::MakeSpan(out), &label).code(),
            absl::StatusCode::kOutOfRange);

  absl::Status garbage = (*decoder)->Decode("\xff\xff not an example", 1, absl::MakeSpan(out), &label);
  EXPECT_EQ(garbage.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(garbage.message().rfind("record: ", 0), 0u) << garbage;

  ImageExample corrupt;
  corrupt.encoded = "\xff\xd8\xff\xe0 cut short";
  corrupt.label = 1;
  corrupt.filename = "cut.JPEG";
  absl::Status bad_jpeg =
      (*decoder)->Decode(SerializeImageExample(corrupt), 1, absl::MakeSpan(out), &label);
  EXPECT_FALSE(bad_jpeg.ok());
  EXPECT_NE(bad_jpeg.message().find("cut.JPEG"), absl::string_view::npos) << bad_jpeg;

  std::vector<float> small(10);
  EXPECT_EQ((*decoder)->Decode(Record(1, "x.JPEG"), 1, absl::MakeSpan(small), &label).code(),
            absl::StatusCode::kInvalidArgument);
  ImageExampleDecoderOptions none = SmallOptions(true);
  none.num_classes = 0;
  EXPECT_EQ(ImageExampleDecoder::Create(none).status().code(), absl::StatusCode::kInvalidArgument);
}

// Shards -> ShardReader -> BatchPipeline with this decoder: the input
// pipeline of image shards end to end.
TEST(ImageExampleDecoderTest, FeedsABatchPipelineFromShards) {
  const std::string dir = ::testing::TempDir() + "pipeline_shards";
  ASSERT_EQ(system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
  int n = 0;
  for (int shard = 0; shard < 3; ++shard) {
    auto writer = TFRecordWriter::Create(absl::StrCat(dir, "/train-0000", shard, "-of-00003"));
    ASSERT_TRUE(writer.ok());
    for (int i = 0; i < 5; ++i, ++n) {
      ASSERT_TRUE((*writer)->Write(Record(1 + n % 10, absl::StrCat("img", n, ".JPEG"), n)).ok());
    }
    ASSERT_TRUE((*writer)->Close().ok());
  }
  auto reader = ShardReader::Open(dir + "/train-*", {.seed = 5, .repeat = false});
  ASSERT_TRUE(reader.ok());
  BatchPipelineOptions options;
  options.batch_size = 4;
  options.example_shape = {32, 32, 3};
  options.decode_threads = 2;
  options.skip_bad_records = false;
  auto pipeline = BatchPipeline::Create(
      *std::move(reader),
      [] { return *ImageExampleDecoder::Create(SmallOptions(true)); }, options);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  Dataset batch;
  std::multiset<int32_t> labels;
  int batches = 0;
  while (true) {
    absl::StatusOr<bool> more = (*pipeline)->Next(&batch);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    ++batches;
    EXPECT_EQ(batch.inputs.shape(), (Shape{batch.size(), 32, 32, 3}));
    labels.insert(batch.labels.begin(), batch.labels.end());
  }
  EXPECT_EQ(batches, 4);  // 15 records: 3 batches of 4 and one of 3
  std::multiset<int32_t> want;
  for (int i = 0; i < 15; ++i) want.insert(i % 10);
  EXPECT_EQ(labels, want);
}

}  // namespace
}  // namespace tessera
