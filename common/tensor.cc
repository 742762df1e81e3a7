#include "common/tensor.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tessera {
namespace {
constexpr int64_t kMaxElements = int64_t{1} << 40;
}  // namespace

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeString(const Shape& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status ValidateShape(const Shape& shape, absl::string_view what) {
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": dimension ", i, " of shape ", ShapeString(shape), " is negative"));
    }
    if (shape[i] != 0 && n > kMaxElements / shape[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": shape ", ShapeString(shape), " has more than 2^40 elements"));
    }
    n *= shape[i];
  }
  return absl::OkStatus();
}

Tensor::Tensor(Shape shape) : shape_(std::move(shape)) {
  Own(std::vector<float>(static_cast<size_t>(NumElements(shape_)), 0.0f));
}

Tensor::Tensor(Shape shape, std::vector<float> values) : shape_(std::move(shape)) {
  Own(std::move(values));
}

Tensor Tensor::Borrowing(Shape shape, float* memory) {
  Tensor t;
  t.size_ = NumElements(shape);
  t.shape_ = std::move(shape);
  t.data_ = memory;
  return t;
}

void Tensor::Own(std::vector<float> values) {
  owned_ = std::move(values);
  data_ = owned_.data();
  size_ = static_cast<int64_t>(owned_.size());
}

Tensor::Tensor(const Tensor& other) : shape_(other.shape_) {
  Own(std::vector<float>(other.data_, other.data_ + other.size_));
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    shape_ = other.shape_;
    Own(std::vector<float>(other.data_, other.data_ + other.size_));
  }
  return *this;
}

// A vector's move keeps its buffer, so data_ stays right in both cases.
Tensor::Tensor(Tensor&& other) noexcept
    : shape_(std::move(other.shape_)),
      owned_(std::move(other.owned_)),
      data_(other.data_),
      size_(other.size_) {
  other.shape_.clear();
  other.owned_.clear();
  other.data_ = nullptr;
  other.size_ = 0;
}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this != &other) {
    shape_ = std::move(other.shape_);
    owned_ = std::move(other.owned_);
    data_ = other.data_;
    size_ = other.size_;
    other.shape_.clear();
    other.owned_.clear();
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void Tensor::Fill(float value) { std::fill(data_, data_ + size_, value); }

absl::Status Tensor::Reshape(Shape shape) {
  if (NumElements(shape) != size()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot reshape ", ShapeString(shape_),
                                                   " to ", ShapeString(shape)));
  }
  shape_ = std::move(shape);
  return absl::OkStatus();
}

void Tensor::Resize(Shape shape) {
  const int64_t n = NumElements(shape);
  shape_ = std::move(shape);
  if (borrowed() && n == size_) {
    Fill(0.0f);
    return;
  }
  owned_.resize(static_cast<size_t>(n));  // (empty if borrowed) keeps the capacity when shrinking
  std::fill(owned_.begin(), owned_.end(), 0.0f);
  data_ = owned_.data();
  size_ = n;
}

TensorProto Tensor::ToProto() const {
  TensorProto proto;
  ToProto(&proto);
  return proto;
}

void Tensor::ToProto(TensorProto* proto) const {
  proto->Clear();
  proto->set_dtype(DT_FLOAT);
  for (int64_t d : shape_) proto->mutable_shape()->add_dim(d);
  // x86-64 is little-endian, so the buffer is the wire form.
  proto->set_tensor_content(reinterpret_cast<const char*>(data_), bytes());
}

absl::StatusOr<Tensor> Tensor::FromProto(const TensorProto& proto, absl::string_view what) {
  if (proto.dtype() != DT_FLOAT) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": dtype is ", DataType_Name(proto.dtype()), ", want DT_FLOAT"));
  }
  Shape shape(proto.shape().dim().begin(), proto.shape().dim().end());
  absl::Status valid = ValidateShape(shape, what);
  if (!valid.ok()) return valid;
  const int64_t n = NumElements(shape);
  const std::string& content = proto.tensor_content();
  if (static_cast<int64_t>(content.size()) != n * 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": shape ", ShapeString(shape), " needs ", n * 4,
        " bytes of tensor_content, got ", content.size()));
  }
  Tensor t(std::move(shape));
  if (n > 0) std::memcpy(t.data(), content.data(), content.size());
  return t;
}

}  // namespace tessera
