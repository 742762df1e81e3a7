#ifndef TESSERA_PS_SEND_BUFFER_POOL_H_
#define TESSERA_PS_SEND_BUFFER_POOL_H_

// Reusable buffers for outgoing chunk payloads (Pull responses). A chunk is
// copied from its block under the block's lock into a SendBuffer, and gRPC
// sends straight from it; the buffer returns to the pool when gRPC drops its
// last reference, which may happen after the RPC ended. Reusing buffers keeps
// the ps from faulting in fresh pages for every chunk (DESIGN.md, Performance
// facts) and bounds its memory. Thread-safe.

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/chunk_coding.h"

namespace tessera {

class SendBufferPool;

class SendBuffer final : public PayloadOwner {
 public:
  float* data() { return data_.get(); }
  int64_t capacity() const { return capacity_; }
  void Ref() override;
  void Unref() override;  // the last one returns the buffer to its pool

 private:
  friend class SendBufferPool;
  explicit SendBuffer(int64_t capacity)
      : data_(new float[capacity]), capacity_(capacity) {}
  std::unique_ptr<float[]> data_;
  const int64_t capacity_;
  std::atomic<int> refs_{0};
  std::shared_ptr<SendBufferPool> pool_;  // set while in use
};

class SendBufferPool : public std::enable_shared_from_this<SendBufferPool> {
 public:
  // Buffers of `buffer_elements` floats; at most `max_idle` kept when idle.
  static std::shared_ptr<SendBufferPool> Create(int64_t buffer_elements, int max_idle);
  SendBufferPool(const SendBufferPool&) = delete;
  SendBufferPool& operator=(const SendBufferPool&) = delete;

  // A buffer with one reference, owned by the caller (Unref it when done).
  SendBuffer* Acquire();
  int64_t buffer_elements() const { return buffer_elements_; }
  int idle() const;

 private:
  friend class SendBuffer;
  SendBufferPool(int64_t buffer_elements, int max_idle)
      : buffer_elements_(buffer_elements), max_idle_(max_idle) {}
  void Release(SendBuffer* buffer);

  const int64_t buffer_elements_;
  const int max_idle_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<SendBuffer>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_PS_SEND_BUFFER_POOL_H_
