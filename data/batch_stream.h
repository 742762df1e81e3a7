#ifndef TESSERA_DATA_BATCH_STREAM_H_
#define TESSERA_DATA_BATCH_STREAM_H_

// Batches one after another, as a training loop or an evaluation takes them,
// whatever they come from: a Dataset in memory (data/dataset_batches.h) or
// image shards decoded while the model trains (data/batch_pipeline.h).
//
// Thread safety: one thread at a time calls Next().

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/dataset.h"

namespace tessera {

class BatchStream {
 public:
  virtual ~BatchStream() = default;
  // Replaces *batch with the next batch (reusing its buffers); false once a
  // one-pass stream (evaluation) is over. Training streams never end: false
  // there means the data ran out, which the caller reports.
  virtual absl::StatusOr<bool> Next(Dataset* batch) = 0;
  // How long the last Next() waited for its batch: the time a training step
  // spent on input rather than on the model.
  virtual absl::Duration last_wait() const = 0;
};

}  // namespace tessera

#endif  // TESSERA_DATA_BATCH_STREAM_H_
