#include "worker/answer_assembler.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/rpc/chunk_sizes.h"
#include "common/rpc/shared_segment.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

absl::Status AnswerError(const char* rpc, const std::string& block, absl::string_view what) {
  return absl::InternalError(absl::StrCat(rpc, " answer for block '", block, "': ", what));
}

std::string EncodingName(TensorEncoding encoding) {
  if (TensorEncoding_IsValid(encoding)) return TensorEncoding_Name(encoding);
  return absl::StrCat("unknown encoding ", static_cast<int>(encoding));
}

}  // namespace

absl::Status TensorReceiver::Add(const ChunkHeader& header, int64_t payload_bytes,
                                 ChunkCopy copy) {
  if (header.offset() == 0) {
    RETURN_IF_ERROR(Finish());
    ASSIGN_OR_RETURN(destination_, start_(header));
    block_ = header.block();
    slot_ = header.slot();
    offset_ = 0;
    ++tensors_;
  }
  const int64_t size = static_cast<int64_t>(destination_.size());
  const int element_bytes = ElementBytes(header.encoding());
  if (tensors_ == 0 || header.block() != block_ || header.slot() != slot_ ||
      header.offset() != offset_ || header.block_elements() != size || element_bytes == 0 ||
      payload_bytes % element_bytes != 0 || offset_ + payload_bytes / element_bytes > size) {
    return AnswerError(
        rpc_, header.block(),
        absl::StrCat("chunk of slot '", header.slot(), "' at element ", header.offset(), " of ",
                     payload_bytes, " bytes (", EncodingName(header.encoding()), ") for ",
                     header.block_elements(), " elements does not fit: expected block '", block_,
                     "' slot '", slot_, "' at element ", offset_, " of ", size));
  }
  copy(destination_.data() + offset_);
  offset_ += payload_bytes / element_bytes;
  return absl::OkStatus();
}

absl::Status TensorReceiver::Finish() const {
  if (tensors_ == 0 || offset_ == static_cast<int64_t>(destination_.size())) {
    return absl::OkStatus();
  }
  return AnswerError(rpc_, block_, absl::StrCat("slot '", slot_, "' ended after ", offset_,
                                                " of ", destination_.size(), " elements"));
}

PullAssembler::PullAssembler(const PullRequest& request,
                             absl::Span<const absl::Span<float>> destinations,
                             const PsConnection::BlockArrived* arrived)
    : request_(request),
      destinations_(destinations),
      arrived_(arrived != nullptr && *arrived ? arrived : nullptr),
      receiver_("Pull", [this](const ChunkHeader& header) -> absl::StatusOr<absl::Span<float>> {
        const int index = static_cast<int>(receiver_.tensors());
        if (index >= request_.blocks_size()) {
          return AnswerError("Pull", header.block(), "more data than requested");
        }
        if (header.block() != request_.blocks(index)) {
          return AnswerError("Pull", header.block(),
                             absl::StrCat("expected block '", request_.blocks(index), "'"));
        }
        return destinations_[index];
      }) {
  result_.versions.assign(destinations.size(), -1);
}

absl::Status PullAssembler::Add(const ChunkHeader& header, int64_t payload_bytes,
                                ChunkCopy copy) {
  RETURN_IF_ERROR(receiver_.Add(header, payload_bytes, copy));
  // The oldest version a chunk of the block came from.
  int64_t& version = result_.versions[receiver_.tensors() - 1];
  if (header.offset() == 0 || header.version() < version) version = header.version();
  result_.global_step = header.global_step();
  result_.incarnation = header.incarnation();
  if (arrived_ != nullptr && receiver_.complete()) (*arrived_)(receiver_.tensors() - 1);
  return absl::OkStatus();
}

absl::Status PullAssembler::AddFromSegment(const ChunkHeader& header, size_t message_payload_bytes,
                                           uint64_t segment, const char* data, size_t size,
                                           bool in_place) {
  if (segment == 0 || header.segment() != segment || message_payload_bytes != 0 ||
      header.encoding() != FLOAT32) {
    return AnswerError("Pull", header.block(),
                       absl::StrCat("the chunk names shared segment ", header.segment(),
                                    segment == 0 ? " (the pull named none)" : "",
                                    header.segment() != segment && segment != 0
                                        ? absl::StrCat(", not the pull's ", segment)
                                        : "",
                                    message_payload_bytes != 0 ? ", and carries data too" : "",
                                    header.encoding() != FLOAT32 ? ", and is not FLOAT32" : ""));
  }
  const absl::Status range =
      CheckSegmentRange(size, header.segment_offset(), header.segment_bytes(), "the chunk");
  if (!range.ok()) return AnswerError("Pull", header.block(), range.message());
  const char* from = data + header.segment_offset();
  const int64_t bytes = header.segment_bytes();
  bool misplaced = false;
  RETURN_IF_ERROR(Add(header, bytes, [from, bytes, in_place, &misplaced](float* destination) {
    if (reinterpret_cast<const char*>(destination) == from) return;  // in place
    misplaced = in_place;
    std::memmove(destination, from, static_cast<size_t>(bytes));
  }));
  if (misplaced) {
    return AnswerError("Pull", header.block(),
                       absl::StrCat("the chunk at element ", header.offset(), " is at byte ",
                                    header.segment_offset(), " of shared segment ", segment,
                                    ", not where the pull asked for it"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PsConnection::PullResult> PullAssembler::Finish() const {
  RETURN_IF_ERROR(receiver_.Finish());
  if (receiver_.tensors() < request_.blocks_size()) {
    return AnswerError("Pull", request_.blocks(static_cast<int>(receiver_.tensors())),
                       "the stream ended before it");
  }
  return result_;
}

SnapshotAssembler::SnapshotAssembler(const PsConnection::SnapshotSink& sink)
    : receiver_("Snapshot", [&sink](const ChunkHeader& header) {
        return sink(header.block(), header.slot());
      }) {}

absl::Status SnapshotAssembler::Add(const ChunkHeader& header, int64_t payload_bytes,
                                    ChunkCopy copy) {
  RETURN_IF_ERROR(receiver_.Add(header, payload_bytes, copy));
  result_.global_step = header.global_step();
  result_.incarnation = header.incarnation();
  return absl::OkStatus();
}

absl::StatusOr<PsConnection::SnapshotResult> SnapshotAssembler::Finish() const {
  RETURN_IF_ERROR(receiver_.Finish());
  PsConnection::SnapshotResult result = result_;
  result.tensors = receiver_.tensors();
  return result;
}

}  // namespace tessera
