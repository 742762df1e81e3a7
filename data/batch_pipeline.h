#ifndef TESSERA_DATA_BATCH_PIPELINE_H_
#define TESSERA_DATA_BATCH_PIPELINE_H_

// Training batches made from a record stream by decode threads while the
// caller trains: the input pipeline of image shards (DESIGN.md, Models and
// data). One thread at a time reads records from the source, in order, and
// gives each a place: record k goes to slot k % batch_size of batch
// k / batch_size. Decode threads then turn records into examples in parallel,
// each straight into its slot, and batches are handed out in order once every
// slot is filled. Up to `prefetch_batches` batches are in the making at once.
// So the batches are the same on every run whatever the thread timing:
// record k is decoded with seed MixSeed(seed, k, 0).
//
//   ASSIGN_OR_RETURN(auto pipeline, BatchPipeline::Create(std::move(reader), factory, options));
//   Dataset batch;
//   while (...) { ASSIGN_OR_RETURN(bool more, pipeline->Next(&batch)); ...train... }
//
// Errors: a source error (a damaged shard) ends the pipeline like the end of
// the records, the last batch holding what was read before it, and then
// Next() returns the error;
// a record the decoder refuses is skipped and counted when skip_bad_records,
// its slot going to the next record, else it ends the pipeline with the
// decoder's error. When the source runs out, the last batch holds what is left
// and the next call returns false.
//
// With skipped records the slots a skip frees go to whichever records are read
// next, so the batches then depend on thread timing.
//
// Records are read under the pipeline's lock, one at a time (the source is not
// thread-safe); decoding runs in parallel.
//
// Thread safety: Next() from one thread at a time. The destructor stops and
// joins the threads; it does not wait for the source to run out.

#include <cstdint>
#include <deque>
#include <string>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/dataset.h"
#include "common/tensor.h"
#include "data/batch_stream.h"
#include "data/record_source.h"

namespace tessera {

struct BatchPipelineOptions {
  int64_t batch_size = 32;      // >= 1
  Shape example_shape;          // one example's input, e.g. {224, 224, 3}
  int decode_threads = 2;       // >= 1
  int prefetch_batches = 2;     // >= 1: batches in the making at once
  uint64_t seed = 0;
  bool skip_bad_records = true;
  Clock* clock = nullptr;  // borrowed; RealClock::Get() when null (wait times)
};

class BatchPipeline final : public BatchStream {
 public:
  using DecoderFactory = std::function<std::unique_ptr<ExampleDecoder>()>;

  // Takes over `source`; calls `factory` once per decode thread (on the
  // calling thread) and starts the threads. INVALID_ARGUMENT on bad options.
  static absl::StatusOr<std::unique_ptr<BatchPipeline>> Create(
      std::unique_ptr<RecordSource> source, const DecoderFactory& factory,
      const BatchPipelineOptions& options);
  ~BatchPipeline();
  BatchPipeline(const BatchPipeline&) = delete;
  BatchPipeline& operator=(const BatchPipeline&) = delete;

  // Replaces *batch with the next batch (inputs [n, example_shape...] and n
  // labels), waiting for it if needed; false when the source is used up.
  absl::StatusOr<bool> Next(Dataset* batch) override;

  // Time Next() spent waiting for a batch, in total and in the last call.
  absl::Duration total_wait() const;
  absl::Duration last_wait() const override;
  // Records the decoder refused and were skipped.
  int64_t bad_records() const;

 private:
  struct Batch {
    Dataset data;                     // batch_size rows
    int64_t next_new_slot = 0;        // slots below it were given a record once
    std::vector<int64_t> free_slots;  // given back by a skipped record
    std::vector<char> good;           // per slot: decoded successfully
    int64_t pending = 0;              // slots being decoded
    int64_t good_count = 0;
  };
  BatchPipeline(std::unique_ptr<RecordSource> source, const BatchPipelineOptions& options);
  void DecodeLoop(ExampleDecoder* decoder);
  // A slot for the next record: a free slot of the oldest batch that has one,
  // else the next new slot, else a new batch. Null when every batch in the
  // making is fully assigned.
  Batch* FindSlot(int64_t* slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a decode thread has something to do (or must exit).
  bool HasWork() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Whether Next() can return: a complete front batch, the end, or an error.
  bool CanDeliver() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  bool FrontComplete() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const BatchPipelineOptions options_;
  const int64_t example_elements_;
  Clock* const clock_;
  std::vector<std::unique_ptr<ExampleDecoder>> decoders_;

  mutable absl::Mutex mu_;
  std::unique_ptr<RecordSource> source_ ABSL_GUARDED_BY(mu_);
  std::deque<std::unique_ptr<Batch>> batches_ ABSL_GUARDED_BY(mu_);  // in order
  std::vector<std::unique_ptr<Batch>> spare_ ABSL_GUARDED_BY(mu_);    // for reuse
  int64_t next_record_ ABSL_GUARDED_BY(mu_) = 0;
  bool source_done_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  int64_t bad_records_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration total_wait_ ABSL_GUARDED_BY(mu_);
  absl::Duration last_wait_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace tessera

#endif  // TESSERA_DATA_BATCH_PIPELINE_H_
