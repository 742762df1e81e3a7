#include "common/dataset.h"

#include "absl/strings/str_cat.h"

namespace tessera {

int64_t Dataset::input_size() const {
  const int64_t n = size();
  return n == 0 ? 0 : inputs.size() / n;
}

int64_t Dataset::target_size() const {
  const int64_t n = size();
  return n == 0 || targets.rank() == 0 ? 0 : targets.size() / n;
}

absl::Status ValidateDataset(const Dataset& dataset, absl::string_view what) {
  if (dataset.inputs.rank() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": inputs must have a batch dimension, got a scalar"));
  }
  const int64_t n = dataset.size();
  const bool has_targets = dataset.targets.rank() > 0;
  if (has_targets && !dataset.labels.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": has both labels and targets; a dataset has one or the other"));
  }
  if (has_targets) {
    if (dataset.targets.dim(0) != n) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": ", n, " inputs but ", dataset.targets.dim(0), " targets"));
    }
    return absl::OkStatus();
  }
  if (static_cast<int64_t>(dataset.labels.size()) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", n, " inputs but ", dataset.labels.size(), " labels"));
  }
  for (size_t i = 0; i < dataset.labels.size(); ++i) {
    if (dataset.labels[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": label ", i, " is negative (", dataset.labels[i], ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace tessera
