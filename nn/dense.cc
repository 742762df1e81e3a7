#include "nn/dense.h"

#include <algorithm>
#include <utility>

#include "nn/gemm.h"

namespace tessera {

DenseLayer::DenseLayer(std::string name, const Shape& input_shape, int64_t units,
                       Initializer weights_initializer, Initializer biases_initializer)
    : SingleInputLayer(std::move(name), input_shape, Shape{units}),
      in_(NumElements(input_shape)),
      units_(units),
      weights_initializer_(std::move(weights_initializer)),
      biases_initializer_(std::move(biases_initializer)) {}

std::vector<VariableSpec> DenseLayer::Variables() const {
  return {{name() + "/weights", {in_, units_}, weights_initializer_},
          {name() + "/biases", {units_}, biases_initializer_}};
}

namespace {

enum SharedTensor { kInputs, kOutputs, kGradOutputs, kGradInputs, kSharedTensors };

// Columns [begin, end) of `columns` that slice `part` of `parts` computes:
// equal shares, cut at multiples of 16 floats (a cache line).
int64_t ColumnCut(int64_t columns, int part, int parts) {
  if (part == parts) return columns;
  return std::min(columns, (columns * part / parts) / 16 * 16);
}

}  // namespace

void DenseLayer::PrepareSliceGroup(SliceGroup* group) const {
  const int64_t rows = group->rows();
  group->tensors.resize(kSharedTensors);
  EnsureBatchShape(rows, {in_}, &group->tensors[kInputs]);
  EnsureBatchShape(rows, {units_}, &group->tensors[kOutputs]);
  EnsureBatchShape(rows, {units_}, &group->tensors[kGradOutputs]);
  EnsureBatchShape(rows, {in_}, &group->tensors[kGradInputs]);
}

void DenseLayer::RunShared(const Tensor& slice_in, int in_tensor, int out_tensor,
                           absl::FunctionRef<void(const float*, int64_t, int64_t, float*)> product,
                           Tensor* slice_out) {
  SliceGroup& group = *group_;
  const int64_t first = group.begin(slice_), rows = group.begin(slice_ + 1) - first;
  Tensor& in = group.tensors[static_cast<size_t>(in_tensor)];
  Tensor& out = group.tensors[static_cast<size_t>(out_tensor)];
  const int64_t in_row = in.dim(1), out_row = out.dim(1);
  std::copy(slice_in.data(), slice_in.data() + rows * in_row, in.data() + first * in_row);
  group.Meet();
  const int64_t lo = ColumnCut(out_row, slice_, group.count());
  const int64_t hi = ColumnCut(out_row, slice_ + 1, group.count());
  if (lo < hi) product(in.data(), lo, hi, out.data());
  group.Meet();
  std::copy(out.data() + first * out_row, out.data() + (first + rows) * out_row, slice_out->data());
}

void DenseLayer::ForwardShared(const float* weights, const float* bias, const Tensor& input,
                               Tensor* output) {
  const int64_t rows = group_->rows();
  RunShared(
      input, kInputs, kOutputs,
      [&](const float* x, int64_t lo, int64_t hi, float* y) {
        for (int64_t i = 0; i < rows; ++i) std::copy(bias + lo, bias + hi, y + i * units_ + lo);
        Sgemm(CblasNoTrans, CblasNoTrans, rows, hi - lo, in_, 1.0f, x, in_, weights + lo, units_,
              1.0f, y + lo, units_);
      },
      output);
}

void DenseLayer::InputGradientShared(const float* weights, const Tensor& grad_output,
                                     Tensor* grad_input) {
  const int64_t rows = group_->rows();
  RunShared(
      grad_output, kGradOutputs, kGradInputs,
      [&](const float* dy, int64_t lo, int64_t hi, float* dx) {
        // dx[:, lo:hi] = dy W[lo:hi, :]^T.
        Sgemm(CblasNoTrans, CblasTrans, rows, hi - lo, units_, 1.0f, dy, units_,
              weights + lo * units_, units_, 0.0f, dx + lo, in_);
      },
      grad_input);
}

void DenseLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                         const ForwardOptions& options, Tensor* output) {
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, output_shape(), output);
  if (group_ != nullptr) {
    ForwardShared(params[0]->data(), params[1]->data(), input, output);
    return;
  }
  const float* bias = params[1]->data();
  float* y = output->data();
  for (int64_t i = 0; i < n; ++i) std::copy(bias, bias + units_, y + i * units_);
  if (n == 0) return;
  Sgemm(CblasNoTrans, CblasNoTrans, n, units_, in_, 1.0f, input.data(), in_, params[0]->data(),
        units_, 1.0f, y, units_);
}

void DenseLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                          const Tensor& output, const Tensor& grad_output,
                          Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  const int64_t n = BatchOf(input);
  const float* dy = grad_output.data();
  float* db = grad_params[1]->data();
  std::fill(db, db + units_, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = dy + i * units_;
    for (int64_t j = 0; j < units_; ++j) db[j] += row[j];
  }
  if (grad_params[0] != nullptr) {
    WeightGradientRows(input, grad_output, 0, in_, grad_params[0]);
  }
  if (grad_input == nullptr) return;
  EnsureBatchShape(n, input_shape(), grad_input);
  if (group_ != nullptr) {
    InputGradientShared(params[0]->data(), grad_output, grad_input);
    return;
  }
  if (n == 0) return;
  // dx = dy W^T.
  Sgemm(CblasNoTrans, CblasTrans, n, in_, units_, 1.0f, dy, units_, params[0]->data(), units_, 0.0f,
        grad_input->data(), in_);
}

void DenseLayer::WeightGradientRows(const Tensor& input, const Tensor& grad_output,
                                    int64_t begin, int64_t end, Tensor* grad) const {
  if (begin >= end) return;
  const int64_t n = BatchOf(input);
  float* dw = grad->data() + begin * units_;
  if (n == 0) {
    std::fill(dw, dw + (end - begin) * units_, 0.0f);
    return;
  }
  // dW[begin:end] = x[:, begin:end]^T dy.
  Sgemm(CblasTrans, CblasNoTrans, end - begin, units_, n, 1.0f, input.data() + begin, in_,
        grad_output.data(), units_, 0.0f, dw, units_);
}

}  // namespace tessera
