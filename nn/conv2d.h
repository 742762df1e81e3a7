#ifndef TESSERA_NN_CONV2D_H_
#define TESSERA_NN_CONV2D_H_

// 2-D convolution over NHWC inputs with a [KH, KW, Cin, Cout] kernel (TensorFlow's
// layouts). Algorithms (ConvAlgorithm; docs/models.md):
// - im2col + OpenBLAS sgemm over chunks of images small enough for the column
//   buffer to stay in cache. Backward recomputes each chunk's im2col rather than
//   keeping the whole batch's columns from Forward.
// - 1x1 kernels at stride 1: the NHWC input already is the column matrix, so one
//   sgemm over the whole batch, with no im2col (and no col2im in Backward).
// - 3x3 and 5x5 kernels at stride 1 with SAME padding: Winograd F(4x4, 3x3) or
//   F(2x2, 3x3), and F(4x4, 5x5) (nn/winograd.h): 4x and 6.25x fewer multiplies
//   than im2col.
// - Small output maps (at most kTapsMaxOutputPixels pixels): one sgemm over the
//   batch per (output pixel, kernel tap) pair inside the image (nn/tap_conv.h).
// Variables: weights [KH, KW, Cin, Cout], biases [Cout] (none without bias, as
// before a batch norm, whose beta takes the bias's place).

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "nn/layer.h"
#include "nn/tap_conv.h"
#include "nn/winograd.h"

namespace tessera {

// Output size and leading padding of one spatial dimension, as TensorFlow computes
// them. SAME: out = ceil(in / stride), total padding max((out - 1) * stride + k - in,
// 0), the smaller half before. VALID: out = (in - k) / stride + 1 (0 when k > in).
struct PaddedDim {
  int64_t out = 0;
  int64_t pad_before = 0;
};
PaddedDim ComputePaddedDim(int64_t in, int64_t k, int64_t stride, Padding padding);

// How a Conv2DLayer computes. kAuto: kGemm1x1 for 1x1 stride 1 kernels,
// kTaps for other kernels with at most kTapsMaxOutputPixels output pixels,
// kWinograd for 3x3 and 5x5 stride 1 SAME kernels with at least kWinogradMinChannels
// input and output channels, else kIm2Col. Asking for an algorithm that does
// not fit the layer's shape (kWinograd or kGemm1x1) falls back to kIm2Col;
// kTaps fits every shape.
enum class ConvAlgorithm { kAuto, kIm2Col, kGemm1x1, kWinograd, kTaps };
inline constexpr int64_t kWinogradMinChannels = 16;
// A 2x2 output map: a 3x3 SAME kernel there has 16 (pixel, tap) pairs inside
// the image, as many products as F(2x2, 3x3) has points, with no transforms;
// at 4x4 Winograd's F(4x4) needs 36 products against 100 pairs.
inline constexpr int64_t kTapsMaxOutputPixels = 4;

class Conv2DLayer final : public SingleInputLayer {
 public:
  // `input_shape` is [H, W, Cin]; filters, kernel_size, stride > 0 and the output
  // non-empty (checked by the caller). Without `use_bias` the layer has no
  // biases variable (and `biases_initializer` is unused).
  Conv2DLayer(std::string name, const Shape& input_shape, int64_t filters,
              int64_t kernel_size, int64_t stride, Padding padding,
              Initializer weights_initializer, Initializer biases_initializer,
              bool use_bias = true, ConvAlgorithm algorithm = ConvAlgorithm::kAuto);
  ~Conv2DLayer() override;

  // The algorithm in use (never kAuto).
  ConvAlgorithm algorithm() const { return algorithm_; }

  std::vector<VariableSpec> Variables() const override;
  // Saturates at INT64_MAX: each factor is bounded, their product need not be
  // (the model builder refuses a layer over kMaxMultiplyAddsPerExample).
  int64_t MultiplyAddsPerExample() const override;
  void Forward(absl::Span<const Tensor* const> params, const Tensor& input,
               const ForwardOptions& options, Tensor* output) override;
  void Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                const Tensor& output, const Tensor& grad_output, Tensor* grad_input,
                absl::Span<Tensor* const> grad_params) override;

  // Images per chunk (im2col + sgemm unit) for a batch of `n`.
  int64_t ChunkImages(int64_t n) const;

 private:
  // Target size of the column buffer of one chunk of images.
  static constexpr int64_t kColumnBytes = int64_t{4} << 20;

  // Writes the im2col rows ([n * OH * OW, KH * KW * Cin]) of the `n` images at
  // `input` to `col`.
  void Im2Col(const float* input, int64_t n, float* col) const;
  // Adds such rows from `col` back into the `n` images at `grad_input` (zeroed
  // first).
  void Col2Im(const float* col, int64_t n, float* grad_input) const;
  // The walk both share: calls visit(col, image, lo, hi) for each kernel row of
  // each output position of `n` images, in im2col order. `col` is the offset of
  // that kernel row (K * Cin floats) in the columns; of its K pixels, [lo, hi)
  // lie inside the image (none when the image row is outside: lo == hi == 0),
  // and pixel lo is at offset `image` in the images.
  template <typename Visit>
  void ForEachKernelRow(int64_t n, Visit visit) const;
  // One part of the batch (see "Threads" below): its column buffer, its dW sum
  // (parts after the first), and whether its columns still hold the im2col of
  // all its images from the last Forward (which Backward then reuses).
  struct Part {
    std::vector<float> columns;
    std::vector<float> dw;
    bool columns_hold_images = false;
  };
  // Threads: with OpenBLAS at T > 1 threads and at least 2 images, the batch is
  // cut into up to T parts of consecutive images (nn/layer_threads.h); each
  // runs its own im2col and sgemms with OpenBLAS set to 1 thread meanwhile
  // (RunLayerPartsOnSerialBlas, as WinogradConv does), and dW adds the parts'
  // sums in part order (AddPartSums). Runs fn(part, begin, end) over the
  // parts; returns their count.
  int RunImageParts(int64_t n, absl::FunctionRef<void(int, int64_t, int64_t)> fn);
  // parts_[part], its column buffer sized for chunks of `chunk` images.
  Part& PartWithColumns(int part, int64_t chunk);
  // Forward (im2col) of the `n` images at `x` into `y`, chunk by chunk, in
  // parts_[part].
  void ForwardPart(int part, const float* weights, const float* bias, const float* x, int64_t n,
                   float* y);
  // Backward (im2col) of the `n` images at `x` with output gradient `dy`:
  // dw (overwritten) and, when non-null, grad_input.
  void BackwardPart(int part, const float* weights, const float* x, const float* dy, int64_t n,
                    float* dw, float* grad_input);

  const int64_t h_, w_, cin_, k_, stride_, cout_;
  const PaddedDim oh_, ow_;
  const Initializer weights_initializer_;
  const Initializer biases_initializer_;
  const bool use_bias_;
  const ConvAlgorithm algorithm_;
  std::vector<Part> parts_;  // scratch, one per part
  // The batch size and part count of the last Forward (its columns are
  // reused only by a Backward cut the same way).
  int64_t forward_batch_ = -1;
  int forward_parts_ = 0;
  std::unique_ptr<WinogradConv> winograd_;  // with kWinograd
  std::unique_ptr<TapConv> taps_;          // with kTaps
};

}  // namespace tessera

#endif  // TESSERA_NN_CONV2D_H_
