#include "data/batch_iterator.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

// Sets *to to [n, from's example shape] holding row picks[i] of `from` as
// row i. Its buffer is kept when large enough, so that a full batch after a
// partial one (the end of an epoch) needs no new allocation.
void GatherRows(const Tensor& from, const int64_t* picks, int64_t n, Tensor* to) {
  Shape shape = from.shape();
  shape[0] = n;
  if (to->shape() != shape) to->Resize(shape);
  const int64_t row = from.dim(0) == 0 ? 0 : from.size() / from.dim(0);
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(to->data() + i * row, from.data() + picks[i] * row, row * sizeof(float));
  }
}

}  // namespace

absl::StatusOr<BatchIterator> BatchIterator::Create(const Dataset* dataset,
                                                    const BatchIteratorOptions& options) {
  RETURN_IF_ERROR(ValidateDataset(*dataset, "dataset"));
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be >= 1, got ", options.batch_size));
  }
  if (options.num_parts < 1 || options.part < 0 || options.part >= options.num_parts) {
    return absl::InvalidArgumentError(absl::StrCat("part ", options.part,
                                                   " is not in [0, num_parts = ",
                                                   options.num_parts, ")"));
  }
  std::vector<int64_t> indices;
  for (int64_t i = options.part; i < dataset->size(); i += options.num_parts) {
    indices.push_back(i);
  }
  if (indices.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "part ", options.part, " of ", options.num_parts, " of a dataset of ",
        dataset->size(), " examples is empty"));
  }
  if (options.drop_remainder && static_cast<int64_t>(indices.size()) < options.batch_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "part ", options.part, " of ", options.num_parts, " has ", indices.size(),
        " examples, fewer than one batch of ", options.batch_size,
        " (set drop_remainder false or use a smaller batch)"));
  }
  return BatchIterator(dataset, options, std::move(indices));
}

BatchIterator::BatchIterator(const Dataset* dataset, const BatchIteratorOptions& options,
                             std::vector<int64_t> indices)
    : dataset_(dataset), options_(options), indices_(std::move(indices)) {
  StartEpoch(0);
}

int64_t BatchIterator::batches_per_epoch() const {
  const int64_t n = part_size(), b = options_.batch_size;
  return options_.drop_remainder ? n / b : (n + b - 1) / b;
}

void BatchIterator::StartEpoch(int64_t epoch) {
  epoch_ = epoch;
  position_ = 0;
  order_ = indices_;
  if (!options_.shuffle) return;
  std::mt19937_64 gen(MixSeed(options_.seed, epoch, options_.part));
  for (size_t i = order_.size() - 1; i > 0; --i) {  // Fisher-Yates
    std::swap(order_[i], order_[UniformBelow(gen, i + 1)]);
  }
}

void BatchIterator::Next(Dataset* batch) {
  // Invariant: position_ starts a batch of this epoch (Create guarantees one).
  const int64_t n = std::min(options_.batch_size, part_size() - position_);
  const int64_t* picks = order_.data() + position_;
  FillBatch(picks, n, batch);
  position_ += n;
  const int64_t remaining = part_size() - position_;
  if (remaining == 0 || (options_.drop_remainder && remaining < options_.batch_size)) {
    StartEpoch(epoch_ + 1);
  }
}

void BatchIterator::FillBatch(const int64_t* picks, int64_t n, Dataset* batch) const {
  GatherRows(dataset_->inputs, picks, n, &batch->inputs);
  if (dataset_->is_classification()) {
    batch->targets = Tensor();
    batch->labels.resize(n);
    for (int64_t i = 0; i < n; ++i) batch->labels[i] = dataset_->labels[picks[i]];
  } else {
    batch->labels.clear();
    GatherRows(dataset_->targets, picks, n, &batch->targets);
  }
}

}  // namespace tessera
