#include "worker/local_trainer.h"

#include <utility>

#include "absl/strings/str_cat.h"

#include "common/optim/learning_rate.h"
#include "common/optim/moving_average.h"
#include "common/status_macros.h"

namespace tessera {

absl::Status ApplyUpdates(const Optimizer& optimizer, ParallelRunner* runner,
                          std::vector<Tensor>* values, const std::vector<Tensor>& grads,
                          std::vector<std::vector<Tensor>>* slots, float lr, int64_t step,
                          absl::Span<const VariableKind> kinds) {
  constexpr int kMaxSlots = 8;  // every rule has at most 3
  const int parts = runner->width();
  if (grads.size() != values->size() || slots->size() != values->size() ||
      (!kinds.empty() && kinds.size() != values->size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ApplyUpdates: ", values->size(), " values, ", grads.size(), " gradients, ",
        slots->size(), " slot lists, ", kinds.size(), " kinds"));
  }
  auto trainable = [&](size_t v) { return kinds.empty() || kinds[v] == TRAINABLE; };
  if (parts > kMaxParts) {
    return absl::InvalidArgumentError(
        absl::StrCat("ApplyUpdates: ", parts, " threads, at most ", kMaxParts));
  }
  // Everything is checked before anything changes.
  for (size_t v = 0; v < values->size(); ++v) {
    const int64_t size = (*values)[v].size();
    if (grads[v].size() != size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ApplyUpdates: variable ", v, " has ", size, " elements, its gradient ",
          grads[v].size()));
    }
    const int want_slots = trainable(v) ? optimizer.NumSlots() : 0;
    if (static_cast<int>((*slots)[v].size()) != want_slots || optimizer.NumSlots() > kMaxSlots) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ApplyUpdates: variable ", v, " has ", (*slots)[v].size(), " slots, ",
          trainable(v) ? optimizer.Name() : "a moving average", " needs ", want_slots));
    }
    for (const Tensor& slot : (*slots)[v]) {
      if (slot.size() != size) {
        return absl::InvalidArgumentError(absl::StrCat("ApplyUpdates: variable ", v, " has ",
                                                       size, " elements, a slot of it ",
                                                       slot.size()));
      }
    }
  }
  absl::Status status[kMaxParts];
  auto part = [&](int t) {
    absl::Span<float> slot_spans[kMaxSlots];
    ForEachRangeOfPart(
        values->size(), [&](size_t v) { return (*values)[v].size(); }, t, parts,
        [&](size_t v, int64_t lo, int64_t hi) {
          if (!status[t].ok()) return;
          if (!trainable(v)) {
            status[t] = ApplyMovingAverageDelta((*values)[v].span().subspan(lo, hi - lo),
                                                grads[v].span().subspan(lo, hi - lo));
            return;
          }
          std::vector<Tensor>& var_slots = (*slots)[v];
          for (size_t i = 0; i < var_slots.size(); ++i) {
            slot_spans[i] = var_slots[i].span().subspan(lo, hi - lo);
          }
          status[t] = optimizer.Apply((*values)[v].span().subspan(lo, hi - lo),
                                      grads[v].span().subspan(lo, hi - lo),
                                      absl::MakeConstSpan(slot_spans, var_slots.size()), lr,
                                      step);
        });
  };
  runner->Run(parts, part);
  for (int t = 0; t < parts; ++t) RETURN_IF_ERROR(status[t]);
  return absl::OkStatus();
}

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
    kinds_.push_back(model_->variables()[v].kind);
    if (kinds_[v] != TRAINABLE) continue;  // a moving average has no slots
    for (int s = 0; s < optimizer_->NumSlots(); ++s) {
      Tensor slot(values_[v].shape());
      slot.Fill(optimizer_->SlotInitialValue(s));
      slots_[v].push_back(std::move(slot));
    }
  }
  runner_ = std::make_unique<ParallelRunner>(model_->compute_threads());
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
  RETURN_IF_ERROR(
      ApplyUpdates(*optimizer_, runner_.get(), &values_, grads_, &slots_, lr, step_ + 1, kinds_));
  ++step_;
  return loss;
}

}  // namespace tessera
