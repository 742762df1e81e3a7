#ifndef TESSERA_COMMON_TENSOR_H_
#define TESSERA_COMMON_TENSOR_H_

// A dense float32 tensor: a shape and a contiguous row-major buffer it owns.
// Copyable and movable; not thread-safe for concurrent mutation.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "protos/tensor.pb.h"

namespace tessera {

using Shape = std::vector<int64_t>;

// Number of elements of `shape` (1 for a scalar). Dimensions must be >= 0.
int64_t NumElements(const Shape& shape);

// "[5, 5, 1, 32]".
std::string ShapeString(const Shape& shape);

// Checks every dimension is >= 0 and the element count fits in memory limits
// (at most 2^40 elements); the error names `what`.
absl::Status ValidateShape(const Shape& shape, absl::string_view what);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of `shape`. The shape must be valid (ValidateShape).
  explicit Tensor(Shape shape);
  Tensor(Shape shape, std::vector<float> values);  // values.size() == NumElements
  // A tensor of `shape` whose elements are NumElements(shape) floats at
  // `memory`, which it borrows (it must outlive the tensor; as it is): the
  // worker's variables and gradients in memory shared with the ps of its host
  // (worker/tensor_memory.h). A copy of it owns its elements; a move keeps
  // the borrowing; Resize to another element count makes it own them.
  static Tensor Borrowing(Shape shape, float* memory);

  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;

  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t size() const { return size_; }
  int64_t bytes() const { return size() * static_cast<int64_t>(sizeof(float)); }

  float* data() { return data_; }
  const float* data() const { return data_; }
  absl::Span<float> span() { return absl::MakeSpan(data_, static_cast<size_t>(size_)); }
  absl::Span<const float> span() const {
    return absl::MakeConstSpan(data_, static_cast<size_t>(size_));
  }
  // Whether the elements are borrowed memory (Borrowing).
  bool borrowed() const { return size_ > 0 && data_ != owned_.data(); }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

  void Fill(float value);
  // Same elements, new shape with the same element count.
  absl::Status Reshape(Shape shape);
  // Zero-filled tensor of `shape` (which must be valid), like
  // `*this = Tensor(shape)`, but keeps the allocation when it is large enough:
  // buffers that alternate between batch sizes (training, evaluation) are
  // allocated once at the largest instead of on every switch.
  void Resize(Shape shape);

  // Conversion to and from the wire form (DT_FLOAT, little-endian content).
  TensorProto ToProto() const;
  void ToProto(TensorProto* proto) const;
  // Errors (INVALID_ARGUMENT) name `what`: wrong dtype, bad shape, content size
  // that does not match the shape.
  static absl::StatusOr<Tensor> FromProto(const TensorProto& proto,
                                          absl::string_view what = "tensor");

 private:
  // Owns `values`: data_ points into them.
  void Own(std::vector<float> values);

  Shape shape_;
  std::vector<float> owned_;  // the elements, unless borrowed
  float* data_ = nullptr;     // owned_.data() or the borrowed memory
  int64_t size_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_COMMON_TENSOR_H_
