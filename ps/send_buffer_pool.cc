#include "ps/send_buffer_pool.h"

#include <utility>

namespace tessera {

void SendBuffer::Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }

void SendBuffer::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // Keep the pool alive across Release even if this was its last user.
  std::shared_ptr<SendBufferPool> pool = std::move(pool_);
  pool->Release(this);
}

std::shared_ptr<SendBufferPool> SendBufferPool::Create(int64_t buffer_elements, int max_idle) {
  return std::shared_ptr<SendBufferPool>(new SendBufferPool(buffer_elements, max_idle));
}

SendBuffer* SendBufferPool::Acquire() {
  std::unique_ptr<SendBuffer> buffer;
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      buffer = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (buffer == nullptr) buffer.reset(new SendBuffer(buffer_elements_));
  buffer->pool_ = shared_from_this();
  buffer->refs_.store(1, std::memory_order_relaxed);
  return buffer.release();
}

void SendBufferPool::Release(SendBuffer* buffer) {
  std::unique_ptr<SendBuffer> owned(buffer);
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(idle_.size()) < max_idle_) idle_.push_back(std::move(owned));
}

int SendBufferPool::idle() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(idle_.size());
}

}  // namespace tessera
