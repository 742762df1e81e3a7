#include "common/rpc/chunk_coding.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/bfloat16.h"
#include "common/coding.h"
#include "common/malloc_tuning.h"

namespace tessera {
namespace {

constexpr int kTcpReadChunkBytes = 1 << 20;
constexpr int kTcpMaxReadChunkBytes = 4 << 20;
// The daemons' malloc keeps buffers below its mmap threshold in the heap for
// reuse; gRPC's read buffers must be among them (common/malloc_tuning.h).
static_assert(kMmapThresholdBytes >= 2 * int64_t{kTcpMaxReadChunkBytes},
              "gRPC's TCP read buffers must stay below malloc's mmap threshold");

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

constexpr uint32_t kHeaderTag = (1 << 3) | kLengthDelimited;  // TensorChunk.header
constexpr uint32_t kDataTag = (2 << 3) | kLengthDelimited;    // TensorChunk.data

size_t PutVarint(uint64_t value, uint8_t* out) {
  char* begin = reinterpret_cast<char*>(out);
  return static_cast<size_t>(EncodeVarint64(begin, value) - begin);
}

void ReleasePayload(void* owner) { static_cast<PayloadOwner*>(owner)->Unref(); }

// Reads bytes across the slices of a buffer, front to back.
class SliceCursor {
 public:
  explicit SliceCursor(const std::vector<grpc::Slice>& slices) : slices_(slices) { SkipEmpty(); }

  bool AtEnd() const { return slice_ == slices_.size(); }
  size_t slice() const { return slice_; }
  size_t offset() const { return offset_; }

  bool ReadVarint(uint64_t* value) {
    // A varint may straddle slices: decode from a copy of the next bytes.
    char buf[kMaxVarint64Bytes];
    size_t n = 0;
    for (size_t s = slice_, at = offset_; s < slices_.size() && n < sizeof(buf); ++s, at = 0) {
      for (; at < slices_[s].size() && n < sizeof(buf); ++at) {
        buf[n++] = static_cast<char>(slices_[s].begin()[at]);
      }
    }
    const char* end = GetVarint64Ptr(buf, buf + n, value);
    return end != nullptr && Read(static_cast<size_t>(end - buf), nullptr);
  }

  // Appends the next n bytes to *out (or skips them when out is null).
  bool Read(size_t n, std::string* out) {
    while (n > 0) {
      if (AtEnd()) return false;
      size_t take = std::min(n, slices_[slice_].size() - offset_);
      if (out != nullptr) {
        out->append(reinterpret_cast<const char*>(slices_[slice_].begin()) + offset_, take);
      }
      Advance(take);
      n -= take;
    }
    return true;
  }

 private:
  void Advance(size_t n) {
    offset_ += n;
    if (offset_ == slices_[slice_].size()) {
      ++slice_;
      offset_ = 0;
      SkipEmpty();
    }
  }
  void SkipEmpty() {
    while (slice_ < slices_.size() && slices_[slice_].size() == 0) ++slice_;
  }

  const std::vector<grpc::Slice>& slices_;
  size_t slice_ = 0;
  size_t offset_ = 0;
};

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed TensorChunk: ", what));
}

}  // namespace

void SetTransportChannelArgs(grpc::ChannelArguments* args) {
  args->SetInt(GRPC_ARG_TCP_READ_CHUNK_SIZE, kTcpReadChunkBytes);
  args->SetInt(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, kTcpReadChunkBytes);
  args->SetInt(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, kTcpMaxReadChunkBytes);
  args->SetMaxReceiveMessageSize(kMaxMessageBytes);
  args->SetMaxSendMessageSize(kMaxMessageBytes);
}

void SetTransportServerArgs(grpc::ServerBuilder* builder) {
  builder->AddChannelArgument(GRPC_ARG_TCP_READ_CHUNK_SIZE, kTcpReadChunkBytes);
  builder->AddChannelArgument(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, kTcpReadChunkBytes);
  builder->AddChannelArgument(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, kTcpMaxReadChunkBytes);
  builder->SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder->SetMaxSendMessageSize(kMaxMessageBytes);
}

PayloadTracker::~PayloadTracker() { WaitForRelease(); }

void PayloadTracker::Ref() {
  absl::MutexLock lock(&mu_);
  ++outstanding_;
}

void PayloadTracker::Unref() {
  absl::MutexLock lock(&mu_);
  --outstanding_;
}

void PayloadTracker::WaitForRelease() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int64_t* outstanding) { return *outstanding == 0; }, &outstanding_));
}

namespace {

// A slice holding the chunk's header field and, when bytes > 0, the tag and
// length of its data field, with `room` bytes more after them; *used is what
// was written.
grpc::Slice EncodeHead(const ChunkHeader& header, size_t bytes, size_t room, size_t* used) {
  const size_t header_bytes = header.ByteSizeLong();
  // tag + varint (at most 10 bytes) for each field, the header, the room.
  grpc::Slice head(2 * 11 + header_bytes + room);
  uint8_t* out = const_cast<uint8_t*>(head.begin());
  size_t n = 0;
  if (header_bytes > 0) {
    out[n++] = kHeaderTag;
    n += PutVarint(header_bytes, out + n);
    header.SerializeWithCachedSizesToArray(out + n);
    n += header_bytes;
  }
  if (bytes > 0) {
    out[n++] = kDataTag;
    n += PutVarint(bytes, out + n);
  }
  *used = n;
  return head;
}

void DeleteBfloat16(void* data) { delete[] static_cast<uint16_t*>(data); }

}  // namespace

grpc::ByteBuffer EncodeChunk(const ChunkHeader& header, const void* payload, size_t bytes,
                             PayloadOwner* owner) {
  const bool copy_payload = bytes < kZeroCopyMinBytes || owner == nullptr;
  size_t n = 0;
  grpc::Slice head = EncodeHead(header, bytes, copy_payload ? bytes : 0, &n);
  if (!copy_payload) {
    owner->Ref();  // released by ReleasePayload when gRPC drops the slice
    grpc::Slice slices[2] = {head.sub(0, n),
                             grpc::Slice(const_cast<void*>(payload), bytes, &ReleasePayload, owner)};
    return grpc::ByteBuffer(slices, 2);
  }
  if (bytes > 0) std::memcpy(const_cast<uint8_t*>(head.begin()) + n, payload, bytes);
  n += bytes;
  grpc::Slice whole = head.sub(0, n);
  return grpc::ByteBuffer(&whole, 1);
}

grpc::ByteBuffer EncodeBfloat16Chunk(const ChunkHeader& header, absl::Span<const float> values) {
  const size_t bytes = values.size() * sizeof(uint16_t);
  // Converted into an array of our own, handed to gRPC, which deletes it (a
  // grpc::Slice(bytes) may keep small payloads inline, unaligned for uint16_t).
  uint16_t* converted = new uint16_t[values.size()];
  FloatsToBfloat16(values, converted);
  grpc::Slice payload(converted, bytes, &DeleteBfloat16);
  size_t n = 0;
  const grpc::Slice head = EncodeHead(header, bytes, 0, &n);
  grpc::Slice slices[2] = {head.sub(0, n), std::move(payload)};
  return grpc::ByteBuffer(slices, 2);
}

void ChunkView::CopyFloats(int64_t begin, int64_t count, float* out) const {
  if (encoding_ == FLOAT32) {
    CopyPayloadRange(static_cast<size_t>(begin) * 4, static_cast<size_t>(count) * 4, out);
    return;
  }
  // BFLOAT16: through a small buffer that stays in L1 (the payload may cross
  // slices at any byte).
  constexpr int64_t kPiece = 4096;
  uint16_t wire[kPiece];
  for (int64_t done = 0; done < count;) {
    const int64_t n = std::min(kPiece, count - done);
    CopyPayloadRange(static_cast<size_t>(begin + done) * 2, static_cast<size_t>(n) * 2, wire);
    Bfloat16ToFloats(wire, n, out + done);
    done += n;
  }
}

void ChunkView::CopyPayloadTo(void* destination) const {
  CopyPayloadRange(0, payload_bytes_, destination);
}

void ChunkView::CopyPayloadRange(size_t begin, size_t bytes, void* destination) const {
  char* out = static_cast<char*>(destination);
  size_t skip = begin;  // payload bytes still to pass over
  size_t left = std::min(bytes, payload_bytes_ - std::min(begin, payload_bytes_));
  size_t offset = first_offset_;
  for (size_t i = first_slice_; left > 0 && i < slices_.size(); ++i) {
    const size_t available = slices_[i].size() - offset;
    if (skip >= available) {
      skip -= available;
      offset = 0;
      continue;
    }
    offset += skip;
    skip = 0;
    const size_t take = std::min(left, slices_[i].size() - offset);
    std::memcpy(out, slices_[i].begin() + offset, take);
    out += take;
    left -= take;
    offset = 0;
  }
}

absl::Status ParseChunk(const grpc::ByteBuffer& buffer, ChunkHeader* header, ChunkView* view) {
  header->Clear();
  view->slices_.clear();
  view->first_slice_ = 0;
  view->first_offset_ = 0;
  view->payload_bytes_ = 0;
  view->encoding_ = FLOAT32;
  if (!buffer.Dump(&view->slices_).ok()) return Malformed("cannot read the message");
  SliceCursor cursor(view->slices_);
  std::string header_bytes;
  while (!cursor.AtEnd()) {
    uint64_t tag;
    if (!cursor.ReadVarint(&tag)) return Malformed("truncated tag");
    const uint32_t wire_type = tag & 7;
    const uint64_t field = tag >> 3;
    if (field == 0) return Malformed("field number 0");
    uint64_t value;
    switch (wire_type) {
      case kVarint:
        if (!cursor.ReadVarint(&value)) return Malformed("truncated varint");
        break;
      case kFixed64:
        if (!cursor.Read(8, nullptr)) return Malformed("truncated fixed64");
        break;
      case kFixed32:
        if (!cursor.Read(4, nullptr)) return Malformed("truncated fixed32");
        break;
      case kLengthDelimited: {
        if (!cursor.ReadVarint(&value)) return Malformed("truncated length");
        if (field == 1) {
          header_bytes.clear();
          if (!cursor.Read(value, &header_bytes)) return Malformed("truncated header");
          if (!header->MergeFromString(header_bytes)) return Malformed("bad header");
        } else {
          if (field == 2) {  // the last occurrence wins, as in protobuf
            view->first_slice_ = cursor.slice();
            view->first_offset_ = cursor.offset();
            view->payload_bytes_ = value;
          }
          if (!cursor.Read(value, nullptr)) return Malformed("truncated field");
        }
        break;
      }
      default:
        return Malformed(absl::StrCat("unsupported wire type ", wire_type));
    }
  }
  if (ElementBytes(header->encoding()) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("chunk of block '", header->block(), "': ",
                                                   UnknownEncoding(header->encoding())));
  }
  view->encoding_ = header->encoding();
  return absl::OkStatus();
}

grpc::ByteBuffer SerializeToByteBuffer(const google::protobuf::MessageLite& message) {
  std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

absl::Status ParseFromByteBuffer(const grpc::ByteBuffer& buffer,
                                 google::protobuf::MessageLite* message, const char* what) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (buffer.Valid()) {
    if (!buffer.Dump(&slices).ok()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read ", what));
    }
    bytes.reserve(buffer.Length());
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  if (!message->ParseFromString(bytes)) {
    return absl::InvalidArgumentError(absl::StrCat("malformed ", what));
  }
  return absl::OkStatus();
}

}  // namespace tessera
