#include "data/batch_pipeline.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "data/random.h"

namespace tessera {

absl::StatusOr<std::unique_ptr<BatchPipeline>> BatchPipeline::Create(
    std::unique_ptr<RecordSource> source, const DecoderFactory& factory,
    const BatchPipelineOptions& options) {
  if (source == nullptr || !factory) {
    return absl::InvalidArgumentError("batch pipeline: no record source or decoder factory");
  }
  if (options.batch_size < 1 || options.decode_threads < 1 || options.prefetch_batches < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch pipeline: batch_size, decode_threads and prefetch_batches must be >= 1, got ",
        options.batch_size, ", ", options.decode_threads, " and ", options.prefetch_batches));
  }
  if (options.example_shape.empty() || NumElements(options.example_shape) <= 0) {
    return absl::InvalidArgumentError("batch pipeline: example_shape must have elements");
  }
  std::unique_ptr<BatchPipeline> pipeline(new BatchPipeline(std::move(source), options));
  for (int i = 0; i < options.decode_threads; ++i) {
    std::unique_ptr<ExampleDecoder> decoder = factory();
    if (decoder == nullptr) return absl::InvalidArgumentError("batch pipeline: no decoder made");
    pipeline->decoders_.push_back(std::move(decoder));
  }
  for (auto& decoder : pipeline->decoders_) {
    BatchPipeline* p = pipeline.get();
    ExampleDecoder* d = decoder.get();
    pipeline->threads_.emplace_back([p, d] { p->DecodeLoop(d); });
  }
  return pipeline;
}

BatchPipeline::BatchPipeline(std::unique_ptr<RecordSource> source,
                             const BatchPipelineOptions& options)
    : options_(options),
      example_elements_(NumElements(options.example_shape)),
      clock_(options.clock != nullptr ? options.clock : RealClock::Get()),
      source_(std::move(source)) {}

BatchPipeline::~BatchPipeline() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

BatchPipeline::Batch* BatchPipeline::FindSlot(int64_t* slot) {
  for (auto& batch : batches_) {
    if (!batch->free_slots.empty()) {
      *slot = batch->free_slots.back();
      batch->free_slots.pop_back();
      return batch.get();
    }
    if (batch->next_new_slot < options_.batch_size) {
      *slot = batch->next_new_slot++;
      return batch.get();
    }
  }
  if (static_cast<int>(batches_.size()) >= options_.prefetch_batches) return nullptr;
  std::unique_ptr<Batch> batch;
  if (!spare_.empty()) {
    batch = std::move(spare_.back());
    spare_.pop_back();
  } else {
    batch = std::make_unique<Batch>();
  }
  Shape shape = options_.example_shape;
  shape.insert(shape.begin(), options_.batch_size);
  if (batch->data.inputs.shape() != shape) batch->data.inputs.Resize(shape);
  batch->data.labels.assign(options_.batch_size, 0);
  batch->data.targets = Tensor();
  batch->good.assign(options_.batch_size, 0);
  batch->next_new_slot = 1;
  batch->free_slots.clear();
  batch->pending = 0;
  batch->good_count = 0;
  *slot = 0;
  batches_.push_back(std::move(batch));
  return batches_.back().get();
}

bool BatchPipeline::HasWork() const {
  if (stop_ || !error_.ok() || source_done_) return true;  // exit (or nothing left)
  for (const auto& batch : batches_) {
    if (!batch->free_slots.empty() || batch->next_new_slot < options_.batch_size) return true;
  }
  return static_cast<int>(batches_.size()) < options_.prefetch_batches;
}

void BatchPipeline::DecodeLoop(ExampleDecoder* decoder) {
  std::string record;
  while (true) {
    Batch* batch = nullptr;
    int64_t slot = 0;
    uint64_t seed = 0;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &BatchPipeline::HasWork));
      if (stop_ || !error_.ok() || source_done_) return;
      absl::StatusOr<bool> more = source_->Next(&record);
      if (!more.ok() || !*more) {
        if (!more.ok()) error_ = more.status();
        source_done_ = true;
        return;
      }
      seed = MixSeed(options_.seed, next_record_++, 0);
      batch = FindSlot(&slot);
      ++batch->pending;
    }
    int32_t label = 0;
    absl::Span<float> input(batch->data.inputs.data() + slot * example_elements_,
                            example_elements_);
    absl::Status decoded = decoder->Decode(record, seed, input, &label);
    absl::MutexLock lock(&mu_);
    --batch->pending;
    if (decoded.ok()) {
      batch->data.labels[slot] = label;
      batch->good[slot] = 1;
      ++batch->good_count;
    } else if (options_.skip_bad_records) {
      ++bad_records_;
      batch->free_slots.push_back(slot);
      LOG(WARNING) << "skipping a record: " << decoded.message();
    } else if (error_.ok()) {
      error_ = decoded;
    }
  }
}

bool BatchPipeline::FrontComplete() const {
  if (batches_.empty()) return false;
  const Batch& front = *batches_.front();
  if (front.pending > 0) return false;
  return front.good_count == options_.batch_size || source_done_;
}

bool BatchPipeline::CanDeliver() const {
  if (FrontComplete()) return true;
  if (!error_.ok() && !source_done_) return true;  // a decoder's error
  // The end, or the source's error: once no record is being decoded, the
  // records read before it are delivered, then the end or the error.
  if (!source_done_) return false;
  for (const auto& batch : batches_) {
    if (batch->pending > 0) return false;
  }
  return true;
}

absl::StatusOr<bool> BatchPipeline::Next(Dataset* batch) {
  absl::MutexLock lock(&mu_);
  const absl::Time start = clock_->Now();
  mu_.Await(absl::Condition(this, &BatchPipeline::CanDeliver));
  last_wait_ = clock_->Now() - start;
  total_wait_ += last_wait_;
  while (true) {
    if (!FrontComplete()) {
      if (!error_.ok()) return error_;
      return false;  // the end
    }
    std::unique_ptr<Batch> front = std::move(batches_.front());
    batches_.pop_front();
    if (front->good_count == 0) {  // the end left an empty batch
      spare_.push_back(std::move(front));
      continue;
    }
    if (front->good_count < options_.batch_size) {  // the end: keep the decoded rows
      Shape shape = front->data.inputs.shape();
      shape[0] = front->good_count;
      Tensor rows(shape);
      int64_t row = 0;
      for (int64_t s = 0; s < options_.batch_size; ++s) {
        if (!front->good[s]) continue;
        std::memcpy(rows.data() + row * example_elements_,
                    front->data.inputs.data() + s * example_elements_,
                    example_elements_ * sizeof(float));
        front->data.labels[row++] = front->data.labels[s];
      }
      front->data.inputs = std::move(rows);
      front->data.labels.resize(row);
    }
    std::swap(*batch, front->data);  // the caller's old buffers become a spare
    spare_.push_back(std::move(front));
    return true;
  }
}

absl::Duration BatchPipeline::total_wait() const {
  absl::MutexLock lock(&mu_);
  return total_wait_;
}

absl::Duration BatchPipeline::last_wait() const {
  absl::MutexLock lock(&mu_);
  return last_wait_;
}

int64_t BatchPipeline::bad_records() const {
  absl::MutexLock lock(&mu_);
  return bad_records_;
}

}  // namespace tessera
