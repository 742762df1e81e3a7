#include "data/load_dataset.h"

#include <string>

#include "data/test_files.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

DataConfig Config(const std::string& text) {
  DataConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

TEST(LoadDatasetTest, InlineLinearRegressionLab) {
  const DataConfig config = Config("inline_data { x: [1, 2, 3, 4] y: [0, -1, -2, -3] }");
  for (DataSplit split : {DataSplit::kTrain, DataSplit::kTest}) {
    absl::StatusOr<Dataset> d = LoadDataset(config, split);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->inputs.shape(), (Shape{4, 1}));
    EXPECT_EQ(d->targets.shape(), (Shape{4, 1}));
    EXPECT_FLOAT_EQ(d->targets[3], -3.0f);
  }
  EXPECT_EQ(LoadDataset(Config("inline_data { x: [1, 2, 3] y: [0] num_features: 2 }"))
                .status()
                .message(),
            "data.inline_data: x has 3 values, want a positive multiple of num_features = 2");
}

TEST(LoadDatasetTest, CsvTrainAndTest) {
  const std::string train = testing::WriteTempFile("train.csv", "x,y\n1,2\n3,4\n5,6\n");
  const std::string test = testing::WriteTempFile("test.csv", "x,y\n7,8\n");
  const DataConfig config = Config("csv { train_path: '" + train + "' test_path: '" + test +
                                   "' has_header: true }");
  absl::StatusOr<Dataset> d = LoadDataset(config);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->size(), 3);
  d = LoadDataset(config, DataSplit::kTest);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->size(), 1);

  const DataConfig no_test = Config("csv { train_path: '" + train + "' has_header: true }");
  absl::Status status = LoadDataset(no_test, DataSplit::kTest).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no test set: data.csv.test_path is not set");
  EXPECT_EQ(LoadDataset(Config("csv {}")).status().message(),
            "data.csv.train_path is not set");
}

TEST(LoadDatasetTest, IdxPaths) {
  const std::string images = testing::WriteTempFile(
      "l-images.gz", testing::IdxImagesBytes(2, 1, 2, {0, 255, 255, 0}), true);
  const std::string labels =
      testing::WriteTempFile("l-labels.gz", testing::IdxLabelsBytes(2, {3, 4}), true);
  const DataConfig config = Config("idx { train_images: '" + images +
                                   "' train_labels: '" + labels +
                                   "' test_images: '/nonexistent/t10k' }");
  absl::StatusOr<Dataset> d = LoadDataset(config);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inputs.shape(), (Shape{2, 1, 2, 1}));
  EXPECT_EQ(d->labels, (std::vector<int32_t>{3, 4}));
  absl::Status status = LoadDataset(config, DataSplit::kTest).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "/nonexistent/t10k: cannot open: No such file or directory");
}

TEST(LoadDatasetTest, IdxDefaultsToFashionMnist) {
  absl::StatusOr<Dataset> d = LoadDataset(Config("idx {}"), DataSplit::kTest);
  if (d.status().code() == absl::StatusCode::kNotFound) {
    EXPECT_NE(d.status().message().find(kFashionMnistTestImages), absl::string_view::npos);
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  }
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inputs.shape(), (Shape{10000, 28, 28, 1}));
  EXPECT_EQ(d->labels.size(), 10000u);
}

TEST(LoadDatasetTest, NoSource) {
  absl::Status status = LoadDataset(DataConfig()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "data: no source set; one of idx, csv, inline_data, image_shards");
}

}  // namespace
}  // namespace tessera
