#include "nn/layer.h"

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

void Layer::WeightGradientRows(const Tensor& input, const Tensor& grad_output, int64_t begin,
                               int64_t end, Tensor* grad) const {
  // A programming error: the model asks only layers that say they can.
  std::fprintf(stderr, "layer '%s' has no batch-product weight gradient\n", name_.c_str());
  std::abort();
}

}  // namespace tessera
