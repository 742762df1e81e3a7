#ifndef TESSERA_PS_BLOCK_VALUES_H_
#define TESSERA_PS_BLOCK_VALUES_H_

// The values of one variable block, kept in pieces that a Pull sends without
// copying them.
//
// A block's values are pieces of kValuePieceElements floats (the last one
// shorter), each a reference-counted FloatBuffer. A Pull takes a reference to
// a piece (Share) and gRPC sends straight from it; a write to a piece that
// anyone else still references goes to a fresh copy of the piece, which then
// replaces it (copy on write), so what a Pull sends never changes under it.
// Pull chunks (kStreamChunkBytes, common/rpc/chunk_sizes.h) are exactly pieces.
//
// Memory: the block's elements, plus the old pieces still being sent, at most
// one or two per Pull stream in flight (a stream writes one chunk at a time),
// plus, for pieces bfloat16 pulls sent, their bfloat16 copies (half a piece
// each) until the piece changes.
//
// Not thread-safe by itself: the block's mutex guards it, shared for Share
// and reads, exclusive for writes. FloatBuffer's reference count is
// thread-safe, so gRPC may drop its references from any thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/rpc/chunk_sizes.h"
#include "common/rpc/payload_owner.h"

namespace tessera {

// A piece is one Pull chunk's worth: 1 MiB of floats.
inline constexpr int64_t kValuePieceElements = kStreamChunkElements;

// A reference-counted array of bfloat16 values (common/bfloat16.h): a
// piece's values as bfloat16 pulls send them. Deletes itself with its last
// reference.
class Bfloat16Buffer final : public PayloadOwner {
 public:
  // `values` rounded to bfloat16, holding one reference.
  static Bfloat16Buffer* Convert(absl::Span<const float> values);
  Bfloat16Buffer(const Bfloat16Buffer&) = delete;
  Bfloat16Buffer& operator=(const Bfloat16Buffer&) = delete;

  const uint16_t* data() const { return data_.get(); }
  int64_t size() const { return size_; }
  void Ref() override;
  void Unref() override;

 private:
  explicit Bfloat16Buffer(int64_t elements) : data_(new uint16_t[elements]), size_(elements) {}
  ~Bfloat16Buffer() = default;
  std::unique_ptr<uint16_t[]> data_;
  const int64_t size_;
  std::atomic<int64_t> refs_{1};
};

// A reference-counted array of floats; deletes itself with its last reference.
class FloatBuffer final : public PayloadOwner {
 public:
  // A buffer of `elements` floats (uninitialized) holding one reference.
  static FloatBuffer* Create(int64_t elements);
  FloatBuffer(const FloatBuffer&) = delete;
  FloatBuffer& operator=(const FloatBuffer&) = delete;

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  int64_t size() const { return size_; }
  void Ref() override;
  void Unref() override;
  // Whether anyone but the caller (who holds one reference) references it.
  bool Shared() const;

  // The floats rounded to bfloat16, converted by the first caller and shared
  // with every later one (SYNC: the workers' pulls of one step convert once).
  // Returns a new reference. Requires the caller to hold a reference to this
  // buffer, so that nobody changes the floats meanwhile (BlockValues writes
  // in place only into a buffer nobody else references).
  Bfloat16Buffer* Bfloat16Copy();
  // Drops the bfloat16 copy (its holders keep theirs): the block's writer
  // calls it before changing the floats in place.
  void ForgetBfloat16Copy();

 private:
  explicit FloatBuffer(int64_t elements) : data_(new float[elements]), size_(elements) {}
  ~FloatBuffer();
  std::unique_ptr<float[]> data_;
  const int64_t size_;
  std::atomic<int64_t> refs_{1};
  absl::Mutex bfloat16_mu_;
  Bfloat16Buffer* bfloat16_ ABSL_GUARDED_BY(bfloat16_mu_) = nullptr;  // one reference
};

// Floats of a FloatBuffer, and the reference that keeps them alive and
// unchanged: released when this is destroyed. Move-only.
class SharedFloats {
 public:
  SharedFloats() = default;
  // Takes over one reference to `owner`, which holds [data, data + size).
  SharedFloats(FloatBuffer* owner, const float* data, int64_t size)
      : owner_(owner), data_(data), size_(size) {}
  SharedFloats(SharedFloats&& other) noexcept { *this = std::move(other); }
  SharedFloats& operator=(SharedFloats&& other) noexcept {
    if (this != &other) {
      Release();
      owner_ = std::exchange(other.owner_, nullptr);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~SharedFloats() { Release(); }

  const float* data() const { return data_; }
  int64_t size() const { return size_; }
  // For whoever keeps the floats beyond this object's life (gRPC: EncodeChunk
  // takes its own reference).
  PayloadOwner* owner() const { return owner_; }
  // The buffer the floats are in (its Bfloat16Copy), and where in it they start.
  FloatBuffer* buffer() const { return owner_; }
  int64_t offset() const { return owner_ == nullptr ? 0 : data_ - owner_->data(); }

 private:
  void Release() {
    if (owner_ != nullptr) owner_->Unref();
    owner_ = nullptr;
  }
  FloatBuffer* owner_ = nullptr;
  const float* data_ = nullptr;
  int64_t size_ = 0;
};

class BlockValues {
 public:
  explicit BlockValues(int64_t elements);  // all 0
  BlockValues(const BlockValues&) = delete;
  BlockValues& operator=(const BlockValues&) = delete;
  ~BlockValues();

  int64_t size() const { return size_; }

  // Calls fn(at, values) for the pieces' parts covering [begin, begin + n),
  // in order, to write them; `at` counts from `begin`. Each piece written is
  // first made the block's own. Requires the range to be inside.
  void Write(int64_t begin, int64_t n,
             absl::FunctionRef<void(int64_t at, absl::Span<float> values)> fn);
  // Copies [begin, begin + out.size()) to `out`.
  void CopyTo(int64_t begin, absl::Span<float> out) const;

  // The values from element `begin` to the end of its piece, at most
  // `max_elements` of them (> 0), without a copy: they stay unchanged as long
  // as the returned SharedFloats (or a reference taken from it) lives.
  // Requires begin < size().
  SharedFloats Share(int64_t begin, int64_t max_elements) const;

  // Pieces copied because a write found them referenced (for tests).
  int64_t copies_on_write() const { return copies_on_write_; }

 private:
  // Calls fn(piece, offset, count, at) for the parts of [begin, begin + n)
  // in pieces_[piece]: elements [offset, offset + count) of it, `at` elements
  // after `begin`.
  void ForEachPart(
      int64_t begin, int64_t n,
      absl::FunctionRef<void(size_t piece, int64_t offset, int64_t count, int64_t at)> fn) const;
  FloatBuffer* OwnPiece(size_t index);  // the piece, copied first if shared

  const int64_t size_;
  std::vector<FloatBuffer*> pieces_;  // one reference each
  int64_t copies_on_write_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_PS_BLOCK_VALUES_H_
