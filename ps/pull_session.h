#ifndef TESSERA_PS_PULL_SESSION_H_
#define TESSERA_PS_PULL_SESSION_H_

// One Pull stream over the requested blocks: VALUES chunks with version,
// incarnation and global step. A chunk is a piece of the block's values
// (ps/block_values.h) shared under the block's lock, so a block within one
// chunk is a consistent copy (docs/protocol.md, "Chunks and the fast path").
// Started by VariableStore::StartPull (ps/variable_store.h), which checks the
// request. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "ps/chunk_source.h"
#include "ps/store_core.h"
#include "ps/variable_block.h"

namespace tessera {

class PullSession final : public ChunkSource {
 public:
  // Streams `blocks` of `core`, in order, with chunk headers saying
  // `encoding` (the service converts the payload: ps/ps_service.cc). `core`
  // is borrowed and must outlive the session.
  PullSession(const StoreCore* core, std::vector<VariableBlock*> blocks,
              TensorEncoding encoding = FLOAT32)
      : core_(core), blocks_(std::move(blocks)), encoding_(encoding) {}

  bool Done() const override { return index_ == blocks_.size(); }
  SharedFloats NextChunk(int64_t max_elements, ChunkHeader* header) override;
  const std::vector<VariableBlock*>& blocks() const { return blocks_; }

 private:
  const StoreCore* const core_;
  const std::vector<VariableBlock*> blocks_;
  const TensorEncoding encoding_;
  size_t index_ = 0;    // block being sent
  int64_t offset_ = 0;  // next element of it
};

}  // namespace tessera

#endif  // TESSERA_PS_PULL_SESSION_H_
