#include "ps/snapshot_session.h"

#include <algorithm>

#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace tessera {

SnapshotSession::~SnapshotSession() { ReleaseCopy(); }

void SnapshotSession::ReleaseCopy() {
  for (FloatBuffer* tensor : copy_) tensor->Unref();
  copy_.clear();
}

SharedFloats SnapshotSession::NextChunk(int64_t max_elements, ChunkHeader* header) {
  VariableBlock* block = blocks_[index_];
  if (tensor_ == 0 && offset_ == 0) {  // a consistent copy of the whole block
    ReleaseCopy();  // chunks still being sent hold their own references
    // A MOVING_AVERAGE block has no slots: its value alone.
    const size_t slots = block->kind == TRAINABLE ? slot_names_.size() : 0;
    for (size_t i = 0; i <= slots; ++i) {
      copy_.push_back(FloatBuffer::Create(block->elements));
    }
    absl::ReaderMutexLock lock(&block->mu);
    block->values.CopyTo(0, absl::MakeSpan(copy_[0]->data(), block->elements));
    for (size_t i = 0; i < slots; ++i) {  // the store's optimizer's slots
      if (i < block->slots.size()) {
        std::copy(block->slots[i].begin(), block->slots[i].end(), copy_[1 + i]->data());
      } else {
        std::fill_n(copy_[1 + i]->data(), block->elements, 0.0f);  // never sends stale heap
      }
    }
    version_ = block->version;
  }
  FloatBuffer* tensor = copy_[tensor_];
  tensor->Ref();
  SharedFloats chunk(tensor, tensor->data() + offset_,
                     std::min(max_elements, block->elements - offset_));
  header->Clear();
  header->set_block(block->name);
  if (tensor_ > 0) header->set_slot(slot_names_[tensor_ - 1]);
  header->set_offset(offset_);
  header->set_block_elements(block->elements);
  header->set_kind(VALUES);
  header->set_version(version_);
  header->set_incarnation(core_->incarnation());
  header->set_global_step(global_step_);
  offset_ += chunk.size();
  if (offset_ == block->elements) {
    offset_ = 0;
    if (++tensor_ == copy_.size()) {
      tensor_ = 0;
      ++index_;
    }
  }
  return chunk;
}

}  // namespace tessera
