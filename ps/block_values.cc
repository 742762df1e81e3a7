#include "ps/block_values.h"

#include <algorithm>
#include <cstring>

#include "common/bfloat16.h"

namespace tessera {

Bfloat16Buffer* Bfloat16Buffer::Convert(absl::Span<const float> values) {
  Bfloat16Buffer* buffer = new Bfloat16Buffer(static_cast<int64_t>(values.size()));
  FloatsToBfloat16(values, buffer->data_.get());
  return buffer;
}

void Bfloat16Buffer::Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }

void Bfloat16Buffer::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

FloatBuffer* FloatBuffer::Create(int64_t elements) { return new FloatBuffer(elements); }

FloatBuffer::~FloatBuffer() { ForgetBfloat16Copy(); }

Bfloat16Buffer* FloatBuffer::Bfloat16Copy() {
  absl::MutexLock lock(&bfloat16_mu_);
  if (bfloat16_ == nullptr) bfloat16_ = Bfloat16Buffer::Convert(absl::MakeConstSpan(data(), size_));
  bfloat16_->Ref();
  return bfloat16_;
}

void FloatBuffer::ForgetBfloat16Copy() {
  absl::MutexLock lock(&bfloat16_mu_);
  if (bfloat16_ != nullptr) bfloat16_->Unref();
  bfloat16_ = nullptr;
}

void FloatBuffer::Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }

void FloatBuffer::Unref() {
  // acq_rel: the holder's reads happen before a writer that sees the count
  // drop (Shared) or before the delete.
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

bool FloatBuffer::Shared() const { return refs_.load(std::memory_order_acquire) > 1; }

BlockValues::BlockValues(int64_t elements) : size_(elements) {
  for (int64_t begin = 0; begin < elements; begin += kValuePieceElements) {
    FloatBuffer* piece = FloatBuffer::Create(std::min(kValuePieceElements, elements - begin));
    std::fill_n(piece->data(), piece->size(), 0.0f);
    pieces_.push_back(piece);
  }
}

BlockValues::~BlockValues() {
  for (FloatBuffer* piece : pieces_) piece->Unref();
}

void BlockValues::ForEachPart(
    int64_t begin, int64_t n,
    absl::FunctionRef<void(size_t, int64_t, int64_t, int64_t)> fn) const {
  for (int64_t at = 0; at < n;) {
    const int64_t element = begin + at;
    const int64_t offset = element % kValuePieceElements;
    const int64_t count = std::min(n - at, kValuePieceElements - offset);
    fn(static_cast<size_t>(element / kValuePieceElements), offset, count, at);
    at += count;
  }
}

void BlockValues::Write(int64_t begin, int64_t n,
                        absl::FunctionRef<void(int64_t, absl::Span<float>)> fn) {
  ForEachPart(begin, n, [&](size_t piece, int64_t offset, int64_t count, int64_t at) {
    fn(at, absl::MakeSpan(OwnPiece(piece)->data() + offset, static_cast<size_t>(count)));
  });
}

void BlockValues::CopyTo(int64_t begin, absl::Span<float> out) const {
  ForEachPart(begin, static_cast<int64_t>(out.size()),
              [&](size_t piece, int64_t offset, int64_t count, int64_t at) {
                std::memcpy(out.data() + at, pieces_[piece]->data() + offset,
                            static_cast<size_t>(count) * sizeof(float));
              });
}

SharedFloats BlockValues::Share(int64_t begin, int64_t max_elements) const {
  FloatBuffer* piece = pieces_[static_cast<size_t>(begin / kValuePieceElements)];
  const int64_t offset = begin % kValuePieceElements;
  piece->Ref();
  return SharedFloats(piece, piece->data() + offset,
                      std::min(max_elements, piece->size() - offset));
}

FloatBuffer* BlockValues::OwnPiece(size_t index) {
  FloatBuffer* piece = pieces_[index];
  if (!piece->Shared()) {
    piece->ForgetBfloat16Copy();  // its floats change now
    return piece;
  }
  // Someone still sends this piece: write to a copy, leave theirs as it is.
  FloatBuffer* copy = FloatBuffer::Create(piece->size());
  std::memcpy(copy->data(), piece->data(), static_cast<size_t>(piece->size()) * sizeof(float));
  pieces_[index] = copy;
  piece->Unref();
  ++copies_on_write_;
  return copy;
}

}  // namespace tessera
