#include "nn/conv2d.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "nn/gemm.h"
#include "nn/layer_threads.h"

namespace tessera {

PaddedDim ComputePaddedDim(int64_t in, int64_t k, int64_t stride, Padding padding) {
  PaddedDim d;
  if (padding == VALID) {
    d.out = in >= k ? (in - k) / stride + 1 : 0;
    d.pad_before = 0;
  } else {
    d.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((d.out - 1) * stride + k - in, 0);
    d.pad_before = total / 2;
  }
  return d;
}

namespace {

ConvAlgorithm ChooseAlgorithm(ConvAlgorithm asked, int64_t cin, int64_t cout, int64_t k,
                              int64_t stride, Padding padding, int64_t output_pixels) {
  const bool fits_1x1 = k == 1 && stride == 1;
  const bool fits_winograd = (k == 3 || k == 5) && stride == 1 && padding == SAME;
  switch (asked) {
    case ConvAlgorithm::kAuto:
      if (fits_1x1) return ConvAlgorithm::kGemm1x1;
      if (output_pixels <= kTapsMaxOutputPixels) return ConvAlgorithm::kTaps;
      if (fits_winograd && cin >= kWinogradMinChannels && cout >= kWinogradMinChannels) {
        return ConvAlgorithm::kWinograd;
      }
      return ConvAlgorithm::kIm2Col;
    case ConvAlgorithm::kGemm1x1:
      return fits_1x1 ? asked : ConvAlgorithm::kIm2Col;
    case ConvAlgorithm::kWinograd:
      return fits_winograd ? asked : ConvAlgorithm::kIm2Col;
    case ConvAlgorithm::kTaps:
      return asked;
    case ConvAlgorithm::kIm2Col:
      break;
  }
  return ConvAlgorithm::kIm2Col;
}

}  // namespace

Conv2DLayer::Conv2DLayer(std::string name, const Shape& input_shape, int64_t filters,
                         int64_t kernel_size, int64_t stride, Padding padding,
                         Initializer weights_initializer, Initializer biases_initializer,
                         bool use_bias, ConvAlgorithm algorithm)
    : SingleInputLayer(
          std::move(name), input_shape,
          Shape{ComputePaddedDim(input_shape[0], kernel_size, stride, padding).out,
                ComputePaddedDim(input_shape[1], kernel_size, stride, padding).out, filters}),
      h_(input_shape[0]),
      w_(input_shape[1]),
      cin_(input_shape[2]),
      k_(kernel_size),
      stride_(stride),
      cout_(filters),
      oh_(ComputePaddedDim(h_, k_, stride_, padding)),
      ow_(ComputePaddedDim(w_, k_, stride_, padding)),
      weights_initializer_(std::move(weights_initializer)),
      biases_initializer_(std::move(biases_initializer)),
      use_bias_(use_bias),
      algorithm_(ChooseAlgorithm(algorithm, cin_, cout_, k_, stride_, padding, oh_.out * ow_.out)) {
  if (algorithm_ == ConvAlgorithm::kWinograd) {
    winograd_ = std::make_unique<WinogradConv>(h_, w_, cin_, cout_, /*tile=*/0, k_);
  } else if (algorithm_ == ConvAlgorithm::kTaps) {
    taps_ = std::make_unique<TapConv>(h_, w_, cin_, k_, stride_, oh_.pad_before, ow_.pad_before,
                                      oh_.out, ow_.out, cout_);
  }
}

Conv2DLayer::~Conv2DLayer() = default;

int64_t Conv2DLayer::MultiplyAddsPerExample() const {
  int64_t product = 1;
  for (const int64_t factor : {oh_.out, ow_.out, k_, k_, cin_, cout_}) {
    if (__builtin_mul_overflow(product, factor, &product)) {
      return std::numeric_limits<int64_t>::max();
    }
  }
  return product;
}

std::vector<VariableSpec> Conv2DLayer::Variables() const {
  std::vector<VariableSpec> vars = {
      {name() + "/weights", {k_, k_, cin_, cout_}, weights_initializer_}};
  if (use_bias_) vars.push_back({name() + "/biases", {cout_}, biases_initializer_});
  return vars;
}

int64_t Conv2DLayer::ChunkImages(int64_t n) const {
  const int64_t bytes = oh_.out * ow_.out * k_ * k_ * cin_ * int64_t{sizeof(float)};
  return std::clamp<int64_t>(kColumnBytes / std::max<int64_t>(bytes, 1), 1,
                             std::max<int64_t>(n, 1));
}

template <typename Visit>
void Conv2DLayer::ForEachKernelRow(int64_t n, Visit visit) const {
  int64_t col = 0;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t oy = 0; oy < oh_.out; ++oy) {
      for (int64_t ox = 0; ox < ow_.out; ++ox) {
        const int64_t y0 = oy * stride_ - oh_.pad_before;
        const int64_t x0 = ox * stride_ - ow_.pad_before;
        for (int64_t ky = 0; ky < k_; ++ky) {
          const int64_t y = y0 + ky;
          if (y < 0 || y >= h_) {
            visit(col, int64_t{0}, int64_t{0}, int64_t{0});
          } else {
            // One kernel row covers inputs x0 .. x0 + k - 1 of image row y,
            // which are contiguous in NHWC.
            const int64_t lo = std::clamp<int64_t>(-x0, 0, k_);
            const int64_t hi = std::clamp<int64_t>(w_ - x0, lo, k_);
            visit(col, ((b * h_ + y) * w_ + x0 + lo) * cin_, lo, hi);
          }
          col += k_ * cin_;
        }
      }
    }
  }
}

void Conv2DLayer::Im2Col(const float* input, int64_t n, float* col) const {
  const size_t run = static_cast<size_t>(cin_) * sizeof(float);
  // Copy the part of each kernel row inside the image, zero the rest.
  ForEachKernelRow(n, [&](int64_t c, int64_t image, int64_t lo, int64_t hi) {
    float* dst = col + c;
    if (lo > 0) std::memset(dst, 0, run * lo);
    if (hi > lo) std::memcpy(dst + lo * cin_, input + image, run * (hi - lo));
    if (hi < k_) std::memset(dst + hi * cin_, 0, run * (k_ - hi));
  });
}

void Conv2DLayer::Col2Im(const float* col, int64_t n, float* grad_input) const {
  std::fill(grad_input, grad_input + n * h_ * w_ * cin_, 0.0f);
  ForEachKernelRow(n, [&](int64_t c, int64_t image, int64_t lo, int64_t hi) {
    float* dst = grad_input + image;
    const float* src = col + c + lo * cin_;
    const int64_t count = (hi - lo) * cin_;
    for (int64_t i = 0; i < count; ++i) dst[i] += src[i];
  });
}

int Conv2DLayer::RunImageParts(int64_t n, absl::FunctionRef<void(int, int64_t, int64_t)> fn) {
  const int parts = LayerParts(n, 1);
  if (parts_.size() < static_cast<size_t>(parts)) parts_.resize(static_cast<size_t>(parts));
  RunLayerPartsOnSerialBlas(parts, n, fn);
  return parts;
}

Conv2DLayer::Part& Conv2DLayer::PartWithColumns(int part, int64_t chunk) {
  Part& p = parts_[static_cast<size_t>(part)];
  p.columns.resize(static_cast<size_t>(chunk * oh_.out * ow_.out * k_ * k_ * cin_));
  return p;
}

void Conv2DLayer::ForwardPart(int part, const float* weights, const float* bias, const float* x,
                              int64_t n, float* y) {
  const int64_t image_rows = oh_.out * ow_.out;
  const int64_t patch = k_ * k_ * cin_;
  const int64_t chunk = ChunkImages(n);
  Part& p = PartWithColumns(part, chunk);
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t m = std::min(chunk, n - b);
    float* y_chunk = y + b * image_rows * cout_;
    if (bias != nullptr) {
      for (int64_t r = 0; r < m * image_rows; ++r) {
        std::copy(bias, bias + cout_, y_chunk + r * cout_);
      }
    }
    Im2Col(x + b * h_ * w_ * cin_, m, p.columns.data());
    Sgemm(CblasNoTrans, CblasNoTrans, m * image_rows, cout_, patch, 1.0f, p.columns.data(), patch,
          weights, cout_, bias != nullptr ? 1.0f : 0.0f, y_chunk, cout_);
  }
  p.columns_hold_images = chunk >= n;
}

void Conv2DLayer::BackwardPart(int part, const float* weights, const float* x, const float* dy,
                               int64_t n, float* dw, float* grad_input) {
  const int64_t image_rows = oh_.out * ow_.out;
  const int64_t patch = k_ * k_ * cin_;
  const int64_t chunk = ChunkImages(n);
  Part& p = PartWithColumns(part, chunk);
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t m = std::min(chunk, n - b);
    const float* dy_chunk = dy + b * image_rows * cout_;
    // dW += columns^T dy over this chunk's im2col: still there from Forward when
    // the part's images were one chunk, else made again (it stays in cache).
    if (!p.columns_hold_images) Im2Col(x + b * h_ * w_ * cin_, m, p.columns.data());
    p.columns_hold_images = false;
    Sgemm(CblasTrans, CblasNoTrans, patch, cout_, m * image_rows, 1.0f, p.columns.data(), patch,
          dy_chunk, cout_, b == 0 ? 0.0f : 1.0f, dw, cout_);
    if (grad_input == nullptr) continue;
    // dcolumns = dy W^T overwrites the columns, then folds back into the image.
    Sgemm(CblasNoTrans, CblasTrans, m * image_rows, patch, cout_, 1.0f, dy_chunk, cout_, weights,
          cout_, 0.0f, p.columns.data(), patch);
    Col2Im(p.columns.data(), m, grad_input + b * h_ * w_ * cin_);
  }
}

void Conv2DLayer::Forward(absl::Span<const Tensor* const> params, const Tensor& input,
                          const ForwardOptions& options, Tensor* output) {
  const int64_t n = BatchOf(input);
  EnsureBatchShape(n, output_shape(), output);
  const int64_t image_rows = oh_.out * ow_.out;
  const float* bias = use_bias_ ? params[1]->data() : nullptr;
  float* y = output->data();
  if (n == 0) return;
  if (algorithm_ == ConvAlgorithm::kTaps) {
    taps_->Forward(input.data(), params[0]->data(), bias, n, y);
    return;
  }
  if (algorithm_ != ConvAlgorithm::kIm2Col) {
    // The whole batch at once: Winograd chunks itself; a 1x1 kernel's columns
    // are the input.
    if (algorithm_ == ConvAlgorithm::kWinograd) {
      winograd_->Forward(input.data(), params[0]->data(), n, y);
    } else {
      Sgemm(CblasNoTrans, CblasNoTrans, n * image_rows, cout_, cin_, 1.0f, input.data(), cin_,
            params[0]->data(), cout_, 0.0f, y, cout_);
    }
    if (bias != nullptr) {
      for (int64_t r = 0; r < n * image_rows; ++r) {
        float* row = y + r * cout_;
        for (int64_t c = 0; c < cout_; ++c) row[c] += bias[c];
      }
    }
    return;
  }
  const float* x = input.data();
  const float* weights = params[0]->data();
  forward_batch_ = n;
  forward_parts_ = RunImageParts(n, [&](int part, int64_t begin, int64_t end) {
    ForwardPart(part, weights, bias, x + begin * h_ * w_ * cin_, end - begin,
                y + begin * image_rows * cout_);
  });
}

void Conv2DLayer::Backward(absl::Span<const Tensor* const> params, const Tensor& input,
                           const Tensor& output, const Tensor& grad_output,
                           Tensor* grad_input, absl::Span<Tensor* const> grad_params) {
  const int64_t n = BatchOf(input);
  const int64_t image_rows = oh_.out * ow_.out;
  const int64_t rows = n * image_rows;
  const int64_t patch = k_ * k_ * cin_;
  const float* dy = grad_output.data();
  if (use_bias_) {
    float* db = grad_params[1]->data();
    std::fill(db, db + cout_, 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = dy + r * cout_;
      for (int64_t c = 0; c < cout_; ++c) db[c] += row[c];
    }
  }
  float* dw = grad_params[0]->data();
  if (grad_input != nullptr) EnsureBatchShape(n, input_shape(), grad_input);
  if (rows == 0) {
    grad_params[0]->Fill(0.0f);
    if (grad_input != nullptr) grad_input->Fill(0.0f);
    return;
  }
  if (algorithm_ == ConvAlgorithm::kTaps) {
    taps_->Backward(input.data(), params[0]->data(), dy, n,
                    grad_input != nullptr ? grad_input->data() : nullptr, dw);
    return;
  }
  if (algorithm_ == ConvAlgorithm::kWinograd) {
    winograd_->Backward(input.data(), dy, n, grad_input != nullptr ? grad_input->data() : nullptr,
                        dw);
    return;
  }
  if (algorithm_ == ConvAlgorithm::kGemm1x1) {
    Sgemm(CblasTrans, CblasNoTrans, cin_, cout_, rows, 1.0f, input.data(), cin_, dy, cout_, 0.0f,
          dw, cout_);
    if (grad_input != nullptr) {
      Sgemm(CblasNoTrans, CblasTrans, rows, cin_, cout_, 1.0f, dy, cout_, params[0]->data(), cout_,
            0.0f, grad_input->data(), cin_);
    }
    return;
  }
  const float* x = input.data();
  const float* weights = params[0]->data();
  float* dx = grad_input != nullptr ? grad_input->data() : nullptr;
  if (forward_batch_ != n || forward_parts_ != LayerParts(n, 1)) {
    for (Part& p : parts_) p.columns_hold_images = false;
  }
  forward_batch_ = -1;
  const int parts = RunImageParts(n, [&](int part, int64_t begin, int64_t end) {
    Part& p = parts_[static_cast<size_t>(part)];
    if (part > 0) p.dw.resize(static_cast<size_t>(patch * cout_));
    BackwardPart(part, weights, x + begin * h_ * w_ * cin_, dy + begin * image_rows * cout_,
                 end - begin, part == 0 ? dw : p.dw.data(),
                 dx != nullptr ? dx + begin * h_ * w_ * cin_ : nullptr);
  });
  AddPartSums(dw, parts, patch * cout_,
              [&](int p) { return parts_[static_cast<size_t>(p)].dw.data(); });
}

}  // namespace tessera
