#ifndef TESSERA_WORKER_LOCAL_TRAINER_H_
#define TESSERA_WORKER_LOCAL_TRAINER_H_

// Training in one process, with no parameter server: the model's gradients
// are applied by the very update rules the ps runs (common/optim/). It is the
// reference the cluster is checked against (same config, same numbers), the
// engine of bench/train_throughput, and `tessera_train_local`.
// Not thread-safe: one thread drives it.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/dataset.h"
#include "common/parallel_runner.h"
#include "common/optim/optimizer.h"
#include "common/tensor.h"
#include "data/batch_iterator.h"
#include "nn/model.h"
#include "protos/train_config.pb.h"

namespace tessera {

// One optimizer update of every variable: values[v] from grads[v] with
// slots[v] (NumSlots() tensors shaped as values[v]), except that a variable
// whose kinds[v] is MOVING_AVERAGE has no slots and gets values[v] -= grads[v]
// (common/optim/moving_average.h; `kinds` empty: every variable TRAINABLE).
// The variables' elements,
// laid end to end, are cut into `runner->width()` equal parts updated at once
// (the update rules are elementwise, so the result is the same as one pass).
// INVALID_ARGUMENT, before anything changes, for counts or sizes that disagree
// or a runner wider than kMaxParts; else errors as Optimizer::Apply's (which
// checks lr and step first, so those also change nothing). Allocates nothing.
inline constexpr int kMaxParts = 64;
absl::Status ApplyUpdates(const Optimizer& optimizer, ParallelRunner* runner,
                          std::vector<Tensor>* values, const std::vector<Tensor>& grads,
                          std::vector<std::vector<Tensor>>* slots, float lr, int64_t step,
                          absl::Span<const VariableKind> kinds = {});

class LocalTrainer {
 public:
  // `config` must be valid (LoadTrainConfig); `train` is borrowed and must
  // outlive the trainer. Initial values come from config.seed(), the batch
  // order from (seed, epoch, part 0 of 1).
  static absl::StatusOr<std::unique_ptr<LocalTrainer>> Create(const TrainConfig& config,
                                                              const Dataset* train);

  // One step on the next batch: gradients, then the optimizer with the
  // learning rate of the schedule at step(). Returns the batch loss.
  absl::StatusOr<float> Step();

  int64_t step() const { return step_; }
  Model* model() { return model_.get(); }
  const std::vector<Tensor>& values() const { return values_; }
  std::vector<const Tensor*> params() const;

 private:
  LocalTrainer(const TrainConfig& config, std::unique_ptr<Model> model,
               std::unique_ptr<Optimizer> optimizer, BatchIterator batches);

  const TrainConfig config_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Optimizer> optimizer_;
  BatchIterator batches_;
  Dataset batch_;
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;
  std::vector<std::vector<Tensor>> slots_;  // [variable][slot]; none for moving averages
  std::vector<VariableKind> kinds_;         // [variable]
  std::unique_ptr<ParallelRunner> runner_;  // for the updates, one thread per core used
  int64_t step_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_LOCAL_TRAINER_H_
