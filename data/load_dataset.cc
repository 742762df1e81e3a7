#include "data/load_dataset.h"

#include <string>

#include "data/csv_source.h"
#include "data/idx_reader.h"

namespace tessera {

const char kFashionMnistTrainImages[] =
    "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
const char kFashionMnistTrainLabels[] =
    "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz";
const char kFashionMnistTestImages[] =
    "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char kFashionMnistTestLabels[] =
    "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

absl::StatusOr<Dataset> LoadDataset(const DataConfig& config, DataSplit split) {
  const bool train = split == DataSplit::kTrain;
  switch (config.source_case()) {
    case DataConfig::kIdx: {
      const IdxSource& idx = config.idx();
      if (train) {
        return ReadIdxDataset(
            idx.has_train_images() ? idx.train_images() : kFashionMnistTrainImages,
            idx.has_train_labels() ? idx.train_labels() : kFashionMnistTrainLabels);
      }
      return ReadIdxDataset(
          idx.has_test_images() ? idx.test_images() : kFashionMnistTestImages,
          idx.has_test_labels() ? idx.test_labels() : kFashionMnistTestLabels);
    }
    case DataConfig::kCsv: {
      const CsvSource& csv = config.csv();
      CsvOptions options;
      options.num_outputs = csv.has_num_outputs() ? csv.num_outputs() : 1;
      options.has_header = csv.has_header();
      const std::string& path = train ? csv.train_path() : csv.test_path();
      if (path.empty()) {
        if (train) return absl::InvalidArgumentError("data.csv.train_path is not set");
        return absl::NotFoundError("no test set: data.csv.test_path is not set");
      }
      return ReadCsvFile(path, options);
    }
    case DataConfig::kInlineData: {
      const InlineSource& source = config.inline_data();
      return DatasetFromValues(source.x(), source.y(),
                               source.has_num_features() ? source.num_features() : 1,
                               "data.inline_data");
    }
    case DataConfig::kImageShards:
      return absl::InvalidArgumentError(
          "data.image_shards are streamed while training, not loaded into memory: "
          "train them with tessera_worker (data/input.h)");
    case DataConfig::SOURCE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "data: no source set; one of idx, csv, inline_data, image_shards");
}

}  // namespace tessera
