#ifndef TESSERA_DATA_BATCH_ITERATOR_H_
#define TESSERA_DATA_BATCH_ITERATOR_H_

// Endless batches from one part of a Dataset, reshuffled every epoch.
//
// The dataset is split into `num_parts` disjoint parts by example index
// (part k holds examples k, k + n, k + 2n, ..., like tf.data's shard(n, k)), so
// the workers of a job, one part each, together cover the set once per epoch.
// Within a part, the order of epoch e is a permutation drawn from a generator
// seeded by (seed, e, part): the same arguments give the same order on every
// run and machine (the shuffle does not depend on the standard library's
// distributions).
//
//   ASSIGN_OR_RETURN(BatchIterator it, BatchIterator::Create(&dataset, options));
//   Dataset batch;
//   while (...) { it.Next(&batch); ...train on batch... }
//
// Thread safety: not thread-safe; use one iterator per consumer. Several
// iterators may share one Dataset.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/dataset.h"
#include "data/random.h"

namespace tessera {

struct BatchIteratorOptions {
  int64_t batch_size = 32;  // >= 1
  int num_parts = 1;        // >= 1, e.g. the number of workers
  int part = 0;             // in [0, num_parts), e.g. this worker's task index
  uint64_t seed = 0;
  bool shuffle = true;  // false: index order within the part, every epoch
  // true: an epoch's last partial batch is skipped, every batch has
  // batch_size examples (the part must hold at least one full batch).
  // false: the last batch of an epoch may be smaller.
  bool drop_remainder = true;
};

class BatchIterator {
 public:
  // `dataset` is borrowed and must outlive the iterator, unchanged; it must
  // pass ValidateDataset. INVALID_ARGUMENT on bad options, an empty part, or a
  // part smaller than one batch with drop_remainder.
  static absl::StatusOr<BatchIterator> Create(const Dataset* dataset,
                                              const BatchIteratorOptions& options);

  // Fills `batch` with the next batch (inputs, and labels or targets),
  // reusing its buffers when their shapes already fit. Moves to the next epoch,
  // reshuffled, when the current one is used up.
  void Next(Dataset* batch);

  // The epoch (0-based) the next batch comes from.
  int64_t epoch() const { return epoch_; }
  // Examples in this part, and batches per epoch.
  int64_t part_size() const { return static_cast<int64_t>(order_.size()); }
  int64_t batches_per_epoch() const;

 private:
  BatchIterator(const Dataset* dataset, const BatchIteratorOptions& options,
                std::vector<int64_t> indices);
  void StartEpoch(int64_t epoch);
  // Copies examples picks[0..n) into `batch`.
  void FillBatch(const int64_t* picks, int64_t n, Dataset* batch) const;

  const Dataset* dataset_;  // borrowed
  BatchIteratorOptions options_;
  std::vector<int64_t> indices_;  // this part's examples, ascending
  std::vector<int64_t> order_;    // this epoch's order of indices_
  int64_t epoch_ = 0;
  int64_t position_ = 0;  // next entry of order_
};

}  // namespace tessera

#endif  // TESSERA_DATA_BATCH_ITERATOR_H_
