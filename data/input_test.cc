#include "data/input.h"

#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/records/image_example.h"
#include "common/records/tfrecord.h"
#include "data/jpeg_encoder.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

// Record r: a solid grey 28x28 JPEG of value 8 * r, label 1 + r % 10.
std::string GreyRecord(int r) {
  std::vector<uint8_t> pixels(28 * 28, static_cast<uint8_t>(8 * r));
  JpegEncodeOptions encode;
  encode.quality = 100;
  ImageExample image;
  image.encoded = *EncodeJpeg(pixels.data(), 28, 28, 1, encode);
  image.height = image.width = 28;
  image.label = 1 + r % 10;
  image.filename = absl::StrCat("img", r, ".JPEG");
  return SerializeImageExample(image);
}

class ImageShardInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()), 0);
    // Two training shards of 10 records (0-9, 10-19), one eval shard (20-26).
    Write("train-00000-of-00002", 0, 10);
    Write("train-00001-of-00002", 10, 20);
    Write("validation-00000-of-00001", 20, 27);
    ImageShardSource& s = *config_.mutable_image_shards();
    s.set_train_pattern(dir_ + "/train-*");
    s.set_eval_pattern(dir_ + "/validation-*");
    s.set_num_classes(10);
    s.set_distorted_crop(false);
    s.set_random_flip(false);
    s.set_eval_central_crop(false);
    s.set_normalize(ImageShardSource::ZERO_TO_ONE);
    s.set_decode_threads(2);
    options_.input_shape = {28, 28, 1};
    options_.batch_size = 5;
    options_.num_parts = 2;
    options_.seed = 3;
  }

  void Write(const std::string& name, int from, int to) {
    auto writer = TFRecordWriter::Create(dir_ + "/" + name);
    ASSERT_TRUE(writer.ok()) << writer.status();
    for (int r = from; r < to; ++r) ASSERT_TRUE((*writer)->Write(GreyRecord(r)).ok());
    ASSERT_TRUE((*writer)->Close().ok());
  }

  // The record each example of `batch` came from, read back from its pixels.
  static std::vector<int> Records(const Dataset& batch) {
    std::vector<int> records;
    for (int64_t i = 0; i < batch.size(); ++i) {
      const float v = batch.inputs[i * 28 * 28 + 100] * 255.0f;
      const int r = static_cast<int>(v / 8.0f + 0.5f);
      EXPECT_NEAR(v, 8.0f * r, 1.0f);
      EXPECT_EQ(batch.labels[i], r % 10) << r;
      records.push_back(r);
    }
    return records;
  }

  std::string dir_;
  DataConfig config_;
  InputOptions options_;
};

TEST_F(ImageShardInputTest, EachWorkerTrainsOnItsShardsEpochAfterEpoch) {
  // Without a shuffle buffer (which spans epoch boundaries) epochs are exact.
  config_.mutable_image_shards()->set_shuffle_buffer(0);
  for (int part = 0; part < 2; ++part) {
    options_.part = part;
    auto input = InputData::Open(config_, options_);
    ASSERT_TRUE(input.ok()) << input.status();
    EXPECT_FALSE((*input)->has_test());
    auto train = (*input)->Training(0);
    ASSERT_TRUE(train.ok()) << train.status();
    Dataset batch;
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::multiset<int> seen;
      for (int b = 0; b < 2; ++b) {
        absl::StatusOr<bool> more = (*train)->Next(&batch);
        ASSERT_TRUE(more.ok() && *more) << more.status();
        ASSERT_EQ(batch.inputs.shape(), (Shape{5, 28, 28, 1}));
        for (int r : Records(batch)) seen.insert(r);
      }
      std::multiset<int> want;
      for (int r = 10 * part; r < 10 * part + 10; ++r) want.insert(r);
      EXPECT_EQ(seen, want) << "part " << part << " epoch " << epoch;
    }
  }
}

TEST_F(ImageShardInputTest, TheTestSetIsReadWholeOncePerPass) {
  options_.with_test = true;
  auto input = InputData::Open(config_, options_);
  ASSERT_TRUE(input.ok()) << input.status();
  ASSERT_TRUE((*input)->has_test());
  for (int pass = 0; pass < 2; ++pass) {
    auto test = (*input)->Test();
    ASSERT_TRUE(test.ok()) << test.status();
    std::vector<int> seen;
    Dataset batch;
    while (true) {
      absl::StatusOr<bool> more = (*test)->Next(&batch);
      ASSERT_TRUE(more.ok()) << more.status();
      if (!*more) break;
      for (int r : Records(batch)) seen.push_back(r);
    }
    EXPECT_EQ(seen, (std::vector<int>{20, 21, 22, 23, 24, 25, 26}));
  }
}

TEST_F(ImageShardInputTest, ResumingDrawsANewOrderOfTheSameShards) {
  auto input = InputData::Open(config_, options_);
  ASSERT_TRUE(input.ok());
  auto fresh = (*input)->Training(0);
  auto again = (*input)->Training(0);
  auto resumed = (*input)->Training(7);
  ASSERT_TRUE(fresh.ok() && again.ok() && resumed.ok());
  Dataset batch;
  std::vector<int> order[3];
  BatchStream* streams[3] = {fresh->get(), again->get(), resumed->get()};
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(*streams[k]->Next(&batch));
      for (int r : Records(batch)) {
        EXPECT_LT(r, 10);  // part 0's shard
        order[k].push_back(r);
      }
    }
  }
  EXPECT_EQ(order[0], order[1]);  // the same seed, the same batches
  EXPECT_NE(order[0], order[2]);
}

TEST_F(ImageShardInputTest, BadConfigurationsAreClearErrors) {
  DataConfig bad = config_;
  bad.mutable_image_shards()->set_train_pattern(dir_ + "/nothing-*");
  absl::Status s = InputData::Open(bad, options_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), absl::StrCat("data.image_shards.train_pattern: no shard matches '",
                                      dir_, "/nothing-*'"));

  InputOptions colour = options_;
  colour.input_shape = {28, 28, 2};
  s = InputData::Open(config_, colour).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "data.image_shards: the model's input_shape must be [height, width, 1 or 3], "
            "got [28, 28, 2]");
  InputOptions huge = options_;
  huge.input_shape = {28, 333333333333, 1};  // found by train_config_fuzzer
  s = InputData::Open(config_, huge).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "data.image_shards: the model's input_shape [28, 333333333333, 1] is larger than "
            "images can be (height and width at most 65535)");

  bad = config_;
  bad.mutable_image_shards()->set_num_classes(0);
  EXPECT_EQ(InputData::Open(bad, options_).status().message(),
            "data.image_shards.num_classes must be >= 1, got 0");

  bad = config_;
  bad.mutable_image_shards()->set_eval_central_crop(true);  // 256 default >= 28: fine
  EXPECT_TRUE(InputData::Open(bad, options_).ok());
  bad.mutable_image_shards()->set_eval_resize_min(20);
  EXPECT_EQ(InputData::Open(bad, options_).status().message(),
            "data.image_shards.eval_resize_min 20 is smaller than the model's input 28x28 "
            "(set it, or eval_central_crop: false)");

  bad = config_;
  bad.mutable_image_shards()->set_min_area(2);
  EXPECT_EQ(InputData::Open(bad, options_).status().code(), absl::StatusCode::kInvalidArgument);

  bad = config_;
  bad.mutable_image_shards()->clear_eval_pattern();
  InputOptions with_test = options_;
  with_test.with_test = true;
  s = InputData::Open(bad, with_test).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "no test set: data.image_shards.eval_pattern is not set (or set eval_at_end: false)");

  auto no_test = InputData::Open(config_, options_);
  ASSERT_TRUE(no_test.ok());
  EXPECT_EQ((*no_test)->Test().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ImageShardInputTest, ALabelOutOfRangeIsSkippedOrStopsTraining) {
  config_.mutable_image_shards()->set_num_classes(5);  // labels 6-10 are out of range
  options_.num_parts = 1;
  options_.batch_size = 4;
  auto input = InputData::Open(config_, options_);
  ASSERT_TRUE(input.ok());
  auto train = (*input)->Training(0);
  ASSERT_TRUE(train.ok());
  Dataset batch;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(*(*train)->Next(&batch));
    for (int r : Records(batch)) EXPECT_LT(r % 10, 5) << r;
  }
  config_.mutable_image_shards()->set_skip_bad_records(false);
  input = InputData::Open(config_, options_);
  train = (*input)->Training(0);
  ASSERT_TRUE(train.ok());
  absl::Status error;
  for (int i = 0; i < 5 && error.ok(); ++i) error = (*train)->Next(&batch).status();
  EXPECT_EQ(error.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(error.message().find("image/class/label"), std::string::npos) << error;
  EXPECT_NE(error.message().find(".JPEG"), std::string::npos) << error;
}

TEST_F(ImageShardInputTest, ADamagedShardStopsTrainingOrIsSkippedAsConfigured) {
  // One worker reads both shards; the second is cut short.
  const std::string cut = dir_ + "/train-00001-of-00002";
  ASSERT_EQ(truncate(cut.c_str(), 700), 0);
  config_.mutable_image_shards()->set_shuffle_buffer(0);
  options_.num_parts = 1;
  options_.batch_size = 4;
  auto input = InputData::Open(config_, options_);
  ASSERT_TRUE(input.ok());
  auto train = (*input)->Training(0);
  ASSERT_TRUE(train.ok());
  Dataset batch;
  absl::Status error;
  for (int i = 0; i < 10 && error.ok(); ++i) error = (*train)->Next(&batch).status();
  EXPECT_EQ(error.code(), absl::StatusCode::kDataLoss) << error;
  EXPECT_NE(error.message().find(cut), std::string::npos) << error;
  EXPECT_NE(error.message().find("offset"), std::string::npos) << error;

  config_.mutable_image_shards()->set_skip_damaged_shards(true);
  input = InputData::Open(config_, options_);
  train = (*input)->Training(0);
  ASSERT_TRUE(train.ok());
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<bool> more = (*train)->Next(&batch);
    ASSERT_TRUE(more.ok() && *more) << more.status();
  }
}

TEST(InMemoryInputTest, ResumingSkipsTheBatchesAlreadyTrainedOn) {
  auto load = [](const DataConfig&, DataSplit split) -> absl::StatusOr<Dataset> {
    Dataset d;
    const int64_t n = split == DataSplit::kTrain ? 20 : 3;
    d.inputs = Tensor({n, 1});
    for (int64_t i = 0; i < n; ++i) {
      d.inputs[i] = static_cast<float>(i);
      d.labels.push_back(0);
    }
    return d;
  };
  DataConfig config;
  config.mutable_idx();
  InputOptions options;
  options.input_shape = {1};
  options.batch_size = 3;
  options.with_test = true;
  auto input = InputData::Open(config, options, load);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ((*input)->Describe(), "20 training examples (part 0 of 1), 3 test examples");
  auto from_start = (*input)->Training(0);
  auto resumed = (*input)->Training(2);
  ASSERT_TRUE(from_start.ok() && resumed.ok());
  Dataset a, b;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(*(*from_start)->Next(&a));
  ASSERT_TRUE(*(*resumed)->Next(&b));
  EXPECT_EQ(a.inputs.span()[0], b.inputs.span()[0]);
  EXPECT_EQ(a.inputs.span()[2], b.inputs.span()[2]);
  auto test = (*input)->Test();
  ASSERT_TRUE(test.ok());
  ASSERT_TRUE(*(*test)->Next(&a));
  EXPECT_EQ(a.size(), 3);
}

}  // namespace
}  // namespace tessera
