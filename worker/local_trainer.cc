#include "worker/local_trainer.h"

#include <utility>

#include "common/optim/learning_rate.h"
#include "common/status_macros.h"

namespace tessera {

absl::StatusOr<std::unique_ptr<LocalTrainer>> LocalTrainer::Create(const TrainConfig& config,
                                                                   const Dataset* train) {
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::FromModelDef(config.model()));
  model->SetComputeThreads(config.compute_threads(), config.compute_split());
  ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer, CreateOptimizer(config.optimizer()));
  BatchIteratorOptions options;
  options.batch_size = config.batch_size();
  options.seed = config.seed();
  ASSIGN_OR_RETURN(BatchIterator batches, BatchIterator::Create(train, options));
  return std::unique_ptr<LocalTrainer>(
      new LocalTrainer(config, std::move(model), std::move(optimizer), std::move(batches)));
}

LocalTrainer::LocalTrainer(const TrainConfig& config, std::unique_ptr<Model> model,
                           std::unique_ptr<Optimizer> optimizer, BatchIterator batches)
    : config_(config),
      model_(std::move(model)),
      optimizer_(std::move(optimizer)),
      batches_(std::move(batches)) {
  values_ = model_->InitialValues(config_.seed());
  slots_.resize(values_.size());
  for (size_t v = 0; v < values_.size(); ++v) {
    for (int s = 0; s < optimizer_->NumSlots(); ++s) {
      Tensor slot(values_[v].shape());
      slot.Fill(optimizer_->SlotInitialValue(s));
      slots_[v].push_back(std::move(slot));
    }
  }
}

std::vector<const Tensor*> LocalTrainer::params() const {
  std::vector<const Tensor*> out;
  for (const Tensor& t : values_) out.push_back(&t);
  return out;
}

absl::StatusOr<float> LocalTrainer::Step() {
  batches_.Next(&batch_);
  const std::vector<const Tensor*> p = params();
  ASSIGN_OR_RETURN(float loss, model_->ComputeGradients(p, batch_, config_.seed() + step_, &grads_));
  const float lr = LearningRate(config_.optimizer().schedule(),
                                BaseLearningRate(config_.optimizer()), step_);
  std::vector<absl::Span<float>> slot_spans;
  for (size_t v = 0; v < values_.size(); ++v) {
    slot_spans.clear();
    for (Tensor& s : slots_[v]) slot_spans.push_back(s.span());
    RETURN_IF_ERROR(
        optimizer_->Apply(values_[v].span(), grads_[v].span(), slot_spans, lr, step_ + 1));
  }
  ++step_;
  return loss;
}

}  // namespace tessera
