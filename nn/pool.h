#ifndef TESSERA_NN_POOL_H_
#define TESSERA_NN_POOL_H_

// Max and average pooling of NHWC inputs over square windows, with TensorFlow's
// SAME / VALID output sizes. Padding never contributes: max takes the largest
// input inside the image; average divides by the number of inputs inside it.
// No variables.

#include <cstdint>
#include <string>
#include <vector>

#include "nn/layer.h"

namespace tessera {

enum class PoolKind { kMax, kAverage };

class PoolLayer final : public SingleInputLayer {
 public:
  // `input_shape` is [H, W, C]; size, stride > 0 and the output non-empty
  // (checked by the caller).
  PoolLayer(std::string name, PoolKind kind, const Shape& input_shape, int64_t size,
            int64_t stride, Padding padding);

  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;
  // Max pooling takes a relu before it (Layer::FuseReluBefore): the max over
  // max(x, 0) of each window, each cell's gradient where max(x, 0) > 0.
  bool FuseReluBefore() override;

 private:
  // Routes each output's gradient to the first input of its window equal to the
  // output (the maximum); a NaN maximum passes no gradient. From the cells the
  // forward recorded when they belong to `output` (each input cell gathers
  // from the few windows that hold it: dx written once, no zeroing pass);
  // otherwise by scanning the windows again (MaxBackwardByScan).
  void MaxBackward(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                   Tensor* grad_input);
  void MaxBackwardByScan(const Tensor& input, const Tensor& output, const Tensor& grad_output,
                         Tensor* grad_input);

  // The window of one output position, clipped to the input: rows
  // [y_lo, y_hi), columns [x_lo, x_hi); (top, left) is the unclipped window's
  // first cell, which may lie in the padding.
  struct Window {
    int64_t y_lo, y_hi, x_lo, x_hi, top, left;
    int64_t count() const { return (y_hi - y_lo) * (x_hi - x_lo); }
    // The number of input cell (iy, ix) in the unclipped size x size window,
    // row by row: what the max's forward records (arg_).
    uint8_t Cell(int64_t iy, int64_t ix, int64_t size) const {
      return CellNumber(iy - top, ix - left, size);
    }
  };
  // Cell (row, col) of a size x size window, row by row.
  static uint8_t CellNumber(int64_t row, int64_t col, int64_t size) {
    return static_cast<uint8_t>(row * size + col);
  }
  // Calls visit(b, out, window) for every example b < n and output position,
  // in order; `out` is the offset of the position's first channel in the
  // output ([n, oh, ow, c]).
  template <typename Visit>
  void ForEachWindow(int64_t begin, int64_t end, Visit visit) const;
  // Zeroes images [begin, end) of an input-shaped gradient.
  void ZeroImages(int64_t begin, int64_t end, float* dx) const;
  // Offset of input position (iy, ix) of example b: its first channel.
  int64_t InputOffset(int64_t b, int64_t iy, int64_t ix) const {
    return ((b * h_ + iy) * w_ + ix) * c_;
  }

  const PoolKind kind_;
  bool relu_before_ = false;  // FuseReluBefore
  const int64_t h_, w_, c_, size_, stride_;
  const int64_t oh_, ow_, pad_y_, pad_x_;
  std::vector<float> pending_;  // MaxBackwardByScan scratch: [parts, C]
  // Max pooling with size <= 15: the last Forward's cell of each output's
  // maximum (Window::Cell, 255 for NaN), [n, oh, ow, c], and the output and
  // batch it belongs to.
  std::vector<uint8_t> arg_;
  const float* arg_output_ = nullptr;
  int64_t arg_batch_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_NN_POOL_H_
