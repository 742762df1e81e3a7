#include "nn/layer.h"

#include <immintrin.h>

#include <cstdio>
#include <cstdlib>

namespace tessera {

void EnsureBatchShape(int64_t batch, const Shape& example_shape, Tensor* tensor) {
  bool same = tensor->rank() == static_cast<int>(example_shape.size()) + 1 &&
              tensor->dim(0) == batch;
  for (size_t i = 0; same && i < example_shape.size(); ++i) {
    same = tensor->dim(static_cast<int>(i) + 1) == example_shape[i];
  }
  if (same) return;
  Shape shape;
  shape.reserve(example_shape.size() + 1);
  shape.push_back(batch);
  shape.insert(shape.end(), example_shape.begin(), example_shape.end());
  tensor->Resize(std::move(shape));
}

void SliceGroup::Prepare(int count, int64_t rows) {
  count_ = count;
  rows_ = rows;
}

void SliceGroup::Meet() {
  const int64_t generation = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
    // The last to arrive: no slice can arrive at the next meeting before it
    // sees the new generation, so the count is reset in time.
    arrived_.store(0, std::memory_order_relaxed);
    {
      absl::MutexLock lock(&mu_);
      generation_.store(generation + 1, std::memory_order_release);
    }
    woken_.SignalAll();
    return;
  }
  // The slices run the same layers on equal shares of the batch, so the
  // others usually arrive within microseconds: spin that long before sleeping.
  constexpr int kSpins = 4000;
  for (int i = 0; i < kSpins; ++i) {
    if (generation_.load(std::memory_order_acquire) != generation) return;
    _mm_pause();
  }
  absl::MutexLock lock(&mu_);
  while (generation_.load(std::memory_order_acquire) == generation) woken_.Wait(&mu_);
}

void Layer::WeightGradientRows(const Tensor& input, const Tensor& grad_output, int64_t begin,
                               int64_t end, Tensor* grad) const {
  // A programming error: the model asks only layers that say they can.
  std::fprintf(stderr, "layer '%s' has no batch-product weight gradient\n", name_.c_str());
  std::abort();
}

}  // namespace tessera
