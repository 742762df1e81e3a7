#include "ps/push_session.h"

// Lock order: a push takes the core's lock (inside StoreCore's methods) and a
// block's mu never at the same time (what it needs of the core per block is
// read before locking the block).

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc/chunk_sizes.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

std::string ChunkRange(const VariableBlock& block, int64_t offset, int64_t elements) {
  return absl::StrCat("block '", block.name, "' chunk at elements [", offset, ", ",
                      offset + elements, ")");
}

}  // namespace

PushSession::~PushSession() { core_->ReturnScratch(std::move(scratch_)); }

absl::Status PushSession::Fail(absl::Status status) {
  if (error_.ok()) error_ = status;
  return status;
}

absl::Status PushSession::CheckFirstChunk(const ChunkHeader& header) {
  if (header.kind() == VALUES) {
    return absl::InvalidArgumentError("push chunks must be GRADIENT or ASSIGN, got VALUES");
  }
  ASSIGN_OR_RETURN(context_, core_->AdmitPush(header));
  first_ = header;
  return absl::OkStatus();
}

absl::Status PushSession::StartTensor(const ChunkHeader& header) {
  if (block_ != nullptr && next_offset_ != block_->elements) {
    return absl::InvalidArgumentError(absl::StrCat(
        "block '", block_->name, "'", slot_.empty() ? "" : absl::StrCat(" slot '", slot_, "'"),
        " is incomplete: ", next_offset_, " of ", block_->elements,
        " elements pushed before a chunk of block '", header.block(), "'"));
  }
  ASSIGN_OR_RETURN(block_, core_->FindBlock(header.block()));
  slot_ = header.slot();
  slot_index_ = -1;
  if (!slot_.empty()) {
    if (first_.kind() != ASSIGN) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block '", block_->name, "': slot '", slot_, "' in a ", ChunkKind_Name(first_.kind()),
          " push (slots are pushed only with ASSIGN)"));
    }
    if (block_->kind != TRAINABLE) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block '", block_->name, "': slot '", slot_, "' pushed for a ",
          VariableKind_Name(block_->kind), " block, which has no optimizer slots"));
    }
    const std::vector<std::string>& names = context_.optimizer->SlotNames();
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == slot_) slot_index_ = static_cast<int>(i);
    }
    if (slot_index_ < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block '", block_->name, "': optimizer ", context_.optimizer->Name(), " has no slot '", slot_,
          "'"));
    }
    if (seen_.count(block_->name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("block '", block_->name, "': slot '", slot_,
                                                     "' pushed before the block's values"));
    }
  }
  const std::string key = slot_.empty() ? block_->name : absl::StrCat(block_->name, "/", slot_);
  if (!seen_.insert(key).second) {
    return absl::InvalidArgumentError(absl::StrCat(
        "block '", block_->name, "'", slot_.empty() ? "" : absl::StrCat(" slot '", slot_, "'"),
        " appears twice in one push"));
  }
  next_offset_ = 0;
  if (first_.kind() == GRADIENT) block_learning_rate_ = core_->LearningRateFor(first_.step());
  return absl::OkStatus();
}

absl::Status PushSession::BeginChunk(const ChunkHeader& header, int64_t payload_bytes) {
  RETURN_IF_ERROR(error_);
  pending_elements_ = -1;
  if (chunks_ == 0) {
    RETURN_IF_ERROR(Fail(CheckFirstChunk(header)));
  } else if (header.fingerprint() != first_.fingerprint() || header.kind() != first_.kind() ||
             header.worker_task() != first_.worker_task()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "chunk ", chunks_, " of the push (block '", header.block(),
        "') has another fingerprint, kind or worker_task than the first chunk")));
  }
  ++chunks_;
  const int element_bytes = ElementBytes(header.encoding());
  if (element_bytes == 0) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("chunk of block '", header.block(), "': ",
                                                        UnknownEncoding(header.encoding()))));
  }
  if (header.encoding() != FLOAT32 && first_.kind() != GRADIENT) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "chunk of block '", header.block(), "' is ", TensorEncoding_Name(header.encoding()),
        " but the push is ", ChunkKind_Name(first_.kind()),
        ": only GRADIENT pushes may be bfloat16 (values and slots are set exactly)")));
  }
  const int64_t elements = payload_bytes / element_bytes;

  // A chunk without a block carries only the push fields.
  if (header.block().empty()) {
    if (payload_bytes != 0) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("a chunk without a block name carries ", payload_bytes, " bytes of data")));
    }
    if (block_ != nullptr && next_offset_ != block_->elements) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "block '", block_->name, "' is incomplete: ", next_offset_, " of ", block_->elements,
          " elements pushed before a chunk without a block")));
    }
    pending_elements_ = 0;
    return absl::OkStatus();
  }

  // Which block (and slot), and is this the next chunk of it?
  if (block_ == nullptr || header.block() != block_->name || header.slot() != slot_ ||
      next_offset_ == block_->elements) {
    RETURN_IF_ERROR(Fail(StartTensor(header)));
  }
  if (header.block_elements() != block_->elements) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "block '", block_->name, "' has ", block_->elements, " elements (shape ",
        ShapeString(block_->shape), "), the push says ", header.block_elements())));
  }
  if (header.offset() != next_offset_) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "chunk out of order: block '", block_->name, "' chunk at element ", header.offset(),
        ", expected element ", next_offset_)));
  }
  if (payload_bytes % element_bytes != 0) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(ChunkRange(*block_, header.offset(), elements), ": payload of ", payload_bytes,
                     " bytes is not a multiple of ", element_bytes, " (",
                     TensorEncoding_Name(header.encoding()), ")")));
  }
  if (payload_bytes > kMaxChunkBytes) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        ChunkRange(*block_, header.offset(), elements), ": payload of ", payload_bytes,
        " bytes exceeds the chunk limit of ", kMaxChunkBytes, " bytes (4 MiB)")));
  }
  if (elements == 0) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "block '", block_->name, "' chunk at element ", header.offset(), " carries no data")));
  }
  if (header.offset() + elements > block_->elements) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(ChunkRange(*block_, header.offset(), elements), " exceeds the block's ",
                     block_->elements, " elements")));
  }
  if (scratch_.empty()) scratch_ = core_->TakeScratch();
  const int64_t piece = std::min(elements, kPieceElements);
  if (static_cast<int64_t>(scratch_.size()) < piece) scratch_.resize(kPieceElements);
  pending_elements_ = elements;
  return absl::OkStatus();
}

absl::Status PushSession::CommitChunk(PayloadReader read) { return Commit(read, {}, nullptr); }

absl::Status PushSession::CommitSharedChunk(absl::Span<const float> payload,
                                            std::shared_ptr<const void> shared) {
  if (pending_elements_ >= 0 && static_cast<int64_t>(payload.size()) != pending_elements_) {
    return Fail(absl::InternalError(absl::StrCat("CommitSharedChunk of ", payload.size(),
                                                 " elements for a chunk of ", pending_elements_)));
  }
  return Commit(
      [payload](int64_t element, absl::Span<float> out) {
        std::copy_n(payload.begin() + element, out.size(), out.begin());
      },
      payload, std::move(shared));
}

absl::Status PushSession::Commit(PayloadReader read, absl::Span<const float> payload,
                                 std::shared_ptr<const void> shared) {
  RETURN_IF_ERROR(error_);
  if (pending_elements_ < 0) {
    return Fail(absl::FailedPreconditionError("CommitChunk without a successful BeginChunk"));
  }
  const int64_t n = pending_elements_;
  pending_elements_ = -1;
  if (n == 0) return absl::OkStatus();
  const int64_t offset = next_offset_;
  const bool last = offset + n == block_->elements;
  {
    absl::MutexLock lock(&block_->mu);
    if (first_.kind() == GRADIENT) {
      GradientChunk chunk;
      chunk.offset = offset;
      chunk.learning_rate = block_learning_rate_;
      chunk.worker_task = first_.worker_task();
      chunk.step = first_.step();
      if (offset == 0) block_push_ = context_.policy->BeginBlock(block_, chunk);
      if (block_push_.accepted && shared != nullptr) {  // in one piece, where it is
        RETURN_IF_ERROR(Fail(
            context_.policy->Apply(block_, chunk, block_push_, payload, last, std::move(shared))));
        ++applied_;
      } else if (block_push_.accepted) {
        for (int64_t done = 0; done < n;) {
          const int64_t count = std::min(kPieceElements, n - done);
          const absl::Span<float> piece(scratch_.data(), count);
          read(done, piece);
          chunk.offset = offset + done;
          done += count;
          RETURN_IF_ERROR(Fail(context_.policy->Apply(block_, chunk, block_push_, piece,
                                                      last && done == n, nullptr)));
        }
        ++applied_;
      } else {
        ++dropped_;
      }
    } else if (slot_index_ >= 0) {  // ASSIGN of a slot (restore)
      read(0, absl::MakeSpan(block_->slots[slot_index_].data() + offset, n));
      ++applied_;
    } else {  // ASSIGN: new values, optimizer state restarted
      block_->values.Write(offset, n, read);
      for (size_t i = 0; i < block_->slots.size(); ++i) {
        std::fill_n(block_->slots[i].data() + offset, n,
                    context_.optimizer->SlotInitialValue(static_cast<int>(i)));
      }
      if (offset == 0) {
        context_.policy->Assigned(block_, first_.step());
        block_->updates_started = std::max<int64_t>(0, first_.step());
      }
      ++applied_;
    }
  }
  next_offset_ = offset + n;
  if (last && first_.kind() == GRADIENT) core_->NotifyWaiters();  // the version may have moved
  if (last && first_.kind() == ASSIGN && slot_index_ < 0) assigned_.push_back(block_);
  return absl::OkStatus();
}

absl::Status PushSession::AddChunk(const ChunkHeader& header, absl::Span<const float> payload) {
  // As a chunk of payload.size() elements in the header's encoding.
  const int element_bytes = std::max(1, ElementBytes(header.encoding()));
  RETURN_IF_ERROR(BeginChunk(header, static_cast<int64_t>(payload.size()) * element_bytes));
  return CommitChunk([payload](int64_t element, absl::Span<float> out) {
    std::copy_n(payload.begin() + element, out.size(), out.begin());
  });
}

absl::StatusOr<PushResponse> PushSession::Finish() {
  RETURN_IF_ERROR(error_);
  if (chunks_ == 0) {
    return Fail(absl::InvalidArgumentError("empty push: the stream carried no chunk"));
  }
  if (block_ != nullptr && next_offset_ != block_->elements) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("push ended with block '", block_->name, "' incomplete: ", next_offset_,
                     " of ", block_->elements, " elements")));
  }
  if (first_.kind() == GRADIENT) {
    core_->GradientPushDone(first_.worker_task(), first_.step(), first_.increment_global_step(),
                            dropped_ > 0);
  } else {
    core_->AssignPushDone(first_.step());
    // Initialized only now, with its slots and the global step in place.
    for (VariableBlock* block : assigned_) {
      bool newly_initialized = false;
      {
        absl::MutexLock lock(&block->mu);
        newly_initialized = !block->initialized;
        block->initialized = true;
      }
      if (newly_initialized) core_->BlockInitialized();
    }
  }
  PushResponse response;
  response.set_incarnation(core_->incarnation());
  response.set_global_step(core_->ReportedGlobalStep());
  response.set_chunks_applied(applied_);
  response.set_chunks_dropped(dropped_);
  return response;
}

}  // namespace tessera
