#ifndef TESSERA_PS_SNAPSHOT_SESSION_H_
#define TESSERA_PS_SNAPSHOT_SESSION_H_

// One Snapshot stream (protos/ps_service.proto): for each block, its values
// then each optimizer slot (none for a MOVING_AVERAGE block), all copied together under the block's lock when
// the block's first chunk is produced (consistent per block). Holds one
// block's copy (values and slots) at a time, plus the previous one while its
// last chunks are still being sent. Started by VariableStore::StartSnapshot
// (ps/variable_store.h), which checks the request. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ps/chunk_source.h"
#include "ps/store_core.h"
#include "ps/variable_block.h"

namespace tessera {

class SnapshotSession final : public ChunkSource {
 public:
  // Streams `blocks` of `core` with the slots `slot_names` (the optimizer's,
  // in order) and `global_step` (the reported one when the stream started).
  // `core` is borrowed and must outlive the session.
  SnapshotSession(const StoreCore* core, std::vector<VariableBlock*> blocks,
                  std::vector<std::string> slot_names, int64_t global_step)
      : core_(core),
        blocks_(std::move(blocks)),
        slot_names_(std::move(slot_names)),
        global_step_(global_step) {}
  SnapshotSession(const SnapshotSession&) = delete;
  SnapshotSession& operator=(const SnapshotSession&) = delete;
  ~SnapshotSession() override;

  bool Done() const override { return index_ == blocks_.size(); }
  SharedFloats NextChunk(int64_t max_elements, ChunkHeader* header) override;

 private:
  void ReleaseCopy();

  const StoreCore* const core_;
  const std::vector<VariableBlock*> blocks_;
  const std::vector<std::string> slot_names_;
  const int64_t global_step_;  // when the stream started
  size_t index_ = 0;           // block
  size_t tensor_ = 0;          // 0: values, i > 0: slot i - 1
  int64_t offset_ = 0;
  std::vector<FloatBuffer*> copy_;  // values, then slots, of block index_ (a reference each)
  int64_t version_ = 0;             // of the copy
};

}  // namespace tessera

#endif  // TESSERA_PS_SNAPSHOT_SESSION_H_
