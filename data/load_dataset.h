#ifndef TESSERA_DATA_LOAD_DATASET_H_
#define TESSERA_DATA_LOAD_DATASET_H_

// The config-level entry to data/: a DataConfig (protos/data_config.proto) to
// an in-memory Dataset. Stateless and thread-safe.

#include "absl/status/statusor.h"
#include "common/dataset.h"
#include "protos/data_config.pb.h"

namespace tessera {

enum class DataSplit { kTrain, kTest };

// Default IDX paths: Debian's dataset-fashion-mnist package.
extern const char kFashionMnistTrainImages[];
extern const char kFashionMnistTrainLabels[];
extern const char kFashionMnistTestImages[];
extern const char kFashionMnistTestLabels[];

// Loads `split` of the configured source:
//   idx          the train or test image/label pair (defaults above)
//   csv          train_path, or test_path (NOT_FOUND "no test set" if unset)
//   inline_data  the same examples for both splits
// INVALID_ARGUMENT when no source is set; otherwise the reader's errors, which
// name the file and what is wrong.
absl::StatusOr<Dataset> LoadDataset(const DataConfig& config,
                                    DataSplit split = DataSplit::kTrain);

}  // namespace tessera

#endif  // TESSERA_DATA_LOAD_DATASET_H_
