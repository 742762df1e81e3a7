#include "ps/pull_session.h"

#include "absl/synchronization/mutex.h"

namespace tessera {

SharedFloats PullSession::NextChunk(int64_t max_elements, ChunkHeader* header) {
  VariableBlock* block = blocks_[index_];
  SharedFloats chunk;
  header->Clear();
  {
    absl::ReaderMutexLock lock(&block->mu);
    chunk = block->values.Share(offset_, max_elements);
    header->set_version(block->version);
  }
  header->set_block(block->name);
  header->set_offset(offset_);
  header->set_block_elements(block->elements);
  header->set_kind(VALUES);
  header->set_encoding(encoding_);
  header->set_incarnation(core_->incarnation());
  header->set_global_step(core_->ReportedGlobalStep());
  offset_ += chunk.size();
  if (offset_ == block->elements) {
    ++index_;
    offset_ = 0;
  }
  return chunk;
}

}  // namespace tessera
