// The worker side of the chunk streams: Pull and Snapshot answers as the ps
// client handles them (worker/ps_client.cc: ParseChunk, then PullAssembler or
// SnapshotAssembler copying the payload into the caller's tensors). Whatever
// a ps sends, the answer fills the destinations within their bounds or is an
// error; a Pull answer that is accepted has filled every requested block.
//
// Input: a setup byte (bit 0: a Snapshot answer, else a Pull answer; bits 1-2
// shrink the destinations so answers that fit the ps's blocks no longer fit;
// bit 3: the Pull named a shared segment, kSegmentId, of kSegmentBytes, and
// chunks naming a segment go through PullAssembler::AddFromSegment as the
// client sends them), then wire messages (fuzz/chunk_stream.h).

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/rpc/chunk_coding.h"
#include "fuzz/chunk_stream.h"
#include "fuzz/fuzz_support.h"
#include "protos/ps_service.pb.h"
#include "worker/answer_assembler.h"

namespace tessera {
namespace {

constexpr float kUnwritten = -12345.0f;
constexpr uint64_t kSegmentId = 0x5e6;
constexpr size_t kSegmentBytes = 70000;  // "big" (17000 floats) and more

// A chunk's payload copied into the assembler's destination, as the client's
// lambda does.
template <typename Assembler>
absl::Status AddChunk(Assembler* assembler, const grpc::ByteBuffer& buffer) {
  ChunkHeader header;
  ChunkView view;
  absl::Status status = ParseChunk(buffer, &header, &view);
  if (!status.ok()) return status;
  return assembler->Add(
      header, static_cast<int64_t>(view.payload_bytes()),
      [&view](float* destination) { view.CopyFloats(0, view.elements(), destination); });
}

}  // namespace
}  // namespace tessera

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  fuzz::FuzzInput input(data, size);
  const uint8_t setup = input.Byte();
  const int64_t shrink = (setup >> 1) & 3;
  fuzz::WireMessage message;

  if (setup & 1) {  // Snapshot: tensors (block, slot) of fixed sizes.
    std::map<std::pair<std::string, std::string>, std::vector<float>> tensors;
    tensors[{"w", ""}].assign(12 - shrink, kUnwritten);
    tensors[{"w", "m"}].assign(12, kUnwritten);
    tensors[{"b", ""}].assign(3, kUnwritten);
    tensors[{"big", ""}].assign(17000 - shrink, kUnwritten);
    const PsConnection::SnapshotSink sink =
        [&tensors](const std::string& block,
                   const std::string& slot) -> absl::StatusOr<absl::Span<float>> {
      auto it = tensors.find({block, slot});
      if (it == tensors.end()) return absl::NotFoundError(absl::StrCat("no ", block, "/", slot));
      return absl::MakeSpan(it->second);
    };
    SnapshotAssembler answer(sink);
    absl::Status status;
    while (status.ok() && fuzz::NextWireMessage(&input, &message)) {
      status = AddChunk(&answer, message.buffer);
    }
    if (status.ok()) (void)answer.Finish();
    return 0;
  }

  PullRequest request;
  request.add_blocks("w");
  request.add_blocks("b");
  request.add_blocks("big");
  std::vector<std::vector<float>> values = {std::vector<float>(12 - shrink, kUnwritten),
                                            std::vector<float>(3, kUnwritten),
                                            std::vector<float>(17000, kUnwritten)};
  std::vector<absl::Span<float>> destinations;
  for (std::vector<float>& v : values) destinations.push_back(absl::MakeSpan(v));
  PullAssembler answer(request, destinations);
  // The segment's bytes: floats 1, 2, 3, ... (never kUnwritten).
  std::vector<float> segment(kSegmentBytes / sizeof(float));
  for (size_t i = 0; i < segment.size(); ++i) segment[i] = static_cast<float>(i + 1);
  const bool shared = (setup & 8) != 0;
  absl::Status status;
  while (status.ok() && fuzz::NextWireMessage(&input, &message)) {
    ChunkHeader header;
    ChunkView view;
    status = ParseChunk(message.buffer, &header, &view);
    if (!status.ok()) break;
    if (header.segment() != 0) {
      status =
          answer.AddFromSegment(header, view.payload_bytes(), shared ? kSegmentId : 0,
                                shared ? reinterpret_cast<const char*>(segment.data()) : nullptr,
                                shared ? kSegmentBytes : 0);
    } else {
      status = AddChunk(&answer, message.buffer);
    }
  }
  if (!status.ok()) return 0;
  absl::StatusOr<PsConnection::PullResult> result = answer.Finish();
  if (result.ok()) {
    FUZZ_CHECK(result->versions.size() == values.size(), "one version per block");
    for (size_t i = 0; i < values.size(); ++i) {
      // Every element came from the answer. (A ps may of course send the
      // marker value itself; the fuzzer would have to guess its 4 bytes.)
      for (float v : values[i]) FUZZ_CHECK(v != kUnwritten, request.blocks(i));
    }
  }
  return 0;
}
