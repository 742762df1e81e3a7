#ifndef TESSERA_DATA_BATCH_PREFETCHER_H_
#define TESSERA_DATA_BATCH_PREFETCHER_H_

// Prepares the next batch on a background thread while the caller trains on
// the current one. Yields exactly the batches its BatchIterator would, in the
// same order. Three batch buffers circulate (the caller's, the ready one, the
// one being filled), so no batch is allocated after the first few.
//
//   BatchPrefetcher prefetcher(std::move(iterator));
//   Dataset batch;
//   while (...) { prefetcher.Next(&batch); ...train... }
//
// Thread safety: Next may be called from one thread at a time. The destructor
// stops and joins the background thread (it never blocks on the caller).

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/dataset.h"
#include "data/batch_iterator.h"

namespace tessera {

class BatchPrefetcher {
 public:
  // Takes over `iterator` (and so borrows its Dataset, which must outlive
  // this object) and starts the background thread.
  explicit BatchPrefetcher(BatchIterator iterator);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // Replaces *batch with the next batch, waiting for it if it is not ready
  // yet. The previous contents of *batch are recycled as a buffer.
  void Next(Dataset* batch);

  int64_t batches_per_epoch() const { return batches_per_epoch_; }

 private:
  void Run();

  const int64_t batches_per_epoch_;
  BatchIterator iterator_;  // used only by the background thread after start
  absl::Mutex mu_;
  Dataset ready_ ABSL_GUARDED_BY(mu_);
  bool has_ready_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after the fields above exist
};

}  // namespace tessera

#endif  // TESSERA_DATA_BATCH_PREFETCHER_H_
