#ifndef TESSERA_PS_PUSH_SESSION_H_
#define TESSERA_PS_PUSH_SESSION_H_

// One Push stream (protos/ps_service.proto): validates its chunks in order
// and applies them: GRADIENT chunks through the store's update policy
// (ps/update_policy.h), ASSIGN chunks (values, or slots on restore) directly.
// Errors as ps/variable_store.h lists them; a failed push changes nothing
// beyond the chunks applied before it failed, and after an error every later
// call returns that error.
//
// Started by VariableStore::StartPush (ps/variable_store.h). Borrows the
// store's core, which must outlive it. Not thread-safe (one stream, one
// thread at a time). Memory: one 64 KiB piece buffer, borrowed from the
// core's pool and returned on destruction.

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "protos/ps_service.pb.h"
#include "ps/store_core.h"
#include "ps/variable_block.h"

namespace tessera {

class PushSession {
 public:
  // `core` is borrowed and must outlive the session.
  explicit PushSession(StoreCore* core) : core_(core) {}
  PushSession(const PushSession&) = delete;
  PushSession& operator=(const PushSession&) = delete;
  ~PushSession();

  // Fills `out` with the chunk's payload elements [element, element +
  // out.size()), decoded to float32.
  using PayloadReader = absl::FunctionRef<void(int64_t element, absl::Span<float> out)>;
  // Payload floats read and applied at a time: small enough to stay in the
  // core's cache between the read and the update (the payload goes from the
  // received message to the block without a chunk-sized copy).
  static constexpr int64_t kPieceElements = 16 << 10;

  // Validates the next chunk (`payload_bytes` of payload in the header's
  // encoding; BFLOAT16 only in GRADIENT pushes).
  absl::Status BeginChunk(const ChunkHeader& header, int64_t payload_bytes);
  // Applies the chunk BeginChunk validated, reading its payload piece by piece
  // with `read`, under the block's lock.
  absl::Status CommitChunk(PayloadReader read);
  // CommitChunk for a chunk whose payload is FLOAT32 floats in memory the
  // worker shares with the ps (held by `shared`; docs/protocol.md, "Shared
  // memory"): a GRADIENT chunk is applied or summed from where it is, in one
  // piece (SYNC reads it when the push joins the step's sum:
  // UpdatePolicy::Apply); anything else is read as CommitChunk reads.
  absl::Status CommitSharedChunk(absl::Span<const float> payload,
                                 std::shared_ptr<const void> shared);
  // BeginChunk + CommitChunk, for callers holding the payload already,
  // decoded: a chunk of payload.size() elements in the header's encoding.
  absl::Status AddChunk(const ChunkHeader& header, absl::Span<const float> payload);
  // Ends the stream: the last block must be complete. Advances the global step
  // (increment_global_step on the ps holding it), records the worker's progress.
  absl::StatusOr<PushResponse> Finish();

 private:
  absl::Status Fail(absl::Status status);
  absl::Status CheckFirstChunk(const ChunkHeader& header);
  // CommitChunk, or CommitSharedChunk when `shared` is set.
  absl::Status Commit(PayloadReader read, absl::Span<const float> payload,
                      std::shared_ptr<const void> shared);
  // Moves to the (block, slot) of `header` when it starts a new tensor.
  absl::Status StartTensor(const ChunkHeader& header);

  StoreCore* const core_;
  absl::Status error_;
  int64_t chunks_ = 0;
  ChunkHeader first_;               // push fields of the stream (from its first chunk)
  PushContext context_;             // the core's policy and optimizer, from the first chunk
  VariableBlock* block_ = nullptr;  // block in progress
  std::string slot_;                // its slot in progress ("" = the values)
  int slot_index_ = -1;             // index of slot_ in the optimizer's slots
  int64_t next_offset_ = 0;
  std::vector<VariableBlock*> assigned_;  // ASSIGN: blocks whose values are complete
  BlockPush block_push_;                  // GRADIENT: the block in progress
  float block_learning_rate_ = 0;         // for the block in progress
  int64_t pending_elements_ = -1;         // elements between BeginChunk and CommitChunk
  std::set<std::string> seen_;
  std::vector<float> scratch_;  // piece buffer, borrowed from the core's pool
  int64_t applied_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_PS_PUSH_SESSION_H_
