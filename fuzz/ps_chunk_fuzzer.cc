// The ps side of the chunk streams: Push request messages as the ps service
// handles them (ps/ps_service.cc, PushReactor::ApplyChunk: ParseChunk, then
// PushSession::BeginChunk and CommitChunk copying the payload out of the
// received slices), and PullRequest messages (ParseFromByteBuffer, then
// StartPull and the chunks it streams), against a VariableStore holding three
// blocks. Whatever a peer sends, each push is applied or refused with an
// error, and every Pull afterwards streams exactly the blocks' elements.
//
// Input: a setup byte (bits 0-1 update mode ASYNC / SYNC / STALE, bits 2-3
// optimizer SGD / Momentum / Adam / Adagrad, bit 4: the blocks start
// initialized by an ASSIGN push, bit 5: block "b" is a MOVING_AVERAGE), then
// wire messages (fuzz/chunk_stream.h) whose control bit 7 ends the push
// stream after the message and bit 6 makes the message a PullRequest.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/rpc/chunk_coding.h"
#include "fuzz/chunk_stream.h"
#include "fuzz/fuzz_support.h"
#include "protos/ps_service.pb.h"
#include "ps/variable_store.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "0123456789abcdef";

struct Block {
  const char* name;
  int64_t rows, cols;
};
// "big" spans several of PushSession's pieces (kPieceElements).
constexpr Block kBlocks[] = {{"w", 4, 3}, {"b", 3, 1}, {"big", 1, 17000}};

CreateVariablesRequest Request(uint8_t setup) {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(2);
  request.set_holds_global_step(true);
  request.set_update_mode(static_cast<UpdateMode>((setup & 3) == 3 ? 0 : (setup & 3)));
  request.set_replicas_to_aggregate(1);
  request.set_staleness(1);
  OptimizerConfig& optimizer = *request.mutable_optimizer();
  optimizer.set_learning_rate(0.1f);
  switch ((setup >> 2) & 3) {
    case 0: optimizer.mutable_sgd(); break;
    case 1: optimizer.mutable_momentum()->set_momentum(0.9f); break;
    case 2: optimizer.mutable_adam(); break;
    case 3: optimizer.mutable_adagrad(); break;
  }
  for (const Block& b : kBlocks) {
    BlockSpec* spec = request.add_blocks();
    spec->set_name(b.name);
    spec->set_variable(b.name);
    spec->mutable_shape()->add_dim(b.rows);
    spec->mutable_shape()->add_dim(b.cols);
    if ((setup & 0x20) && std::string(b.name) == "b") spec->set_kind(MOVING_AVERAGE);
  }
  return request;
}

// The ASSIGN push the chief sends after CreateVariables.
void Initialize(VariableStore* store) {
  std::unique_ptr<PushSession> push = store->StartPush();
  for (const Block& b : kBlocks) {
    std::vector<float> values(b.rows * b.cols, 0.5f);
    ChunkHeader header;
    header.set_kind(ASSIGN);
    header.set_fingerprint(kFingerprint);
    header.set_block(b.name);
    header.set_block_elements(b.rows * b.cols);
    FUZZ_CHECK(push->AddChunk(header, values).ok(), "initial ASSIGN");
  }
  FUZZ_CHECK(push->Finish().ok(), "initial ASSIGN");
}

// PushReactor::ApplyChunk.
absl::Status ApplyChunk(const grpc::ByteBuffer& in, PushSession* session) {
  ChunkHeader header;
  ChunkView view;
  absl::Status status = ParseChunk(in, &header, &view);
  if (!status.ok()) return status;
  const int64_t bytes = static_cast<int64_t>(view.payload_bytes());
  status = session->BeginChunk(header, bytes);
  if (!status.ok()) return status;
  return session->CommitChunk([&view](int64_t element, absl::Span<float> out) {
    view.CopyFloats(element, static_cast<int64_t>(out.size()), out.data());
  });
}

// Streams a Pull to the end: every requested block's elements, in order.
void Pull(VariableStore* store, const PullRequest& request) {
  absl::StatusOr<std::unique_ptr<PullSession>> pull = store->StartPull(request);
  if (!pull.ok()) return;
  int64_t expected = 0;
  for (const VariableBlock* block : (*pull)->blocks()) expected += block->elements;
  int64_t streamed = 0;
  while (!(*pull)->Done()) {
    ChunkHeader header;
    SharedFloats chunk = (*pull)->NextChunk(/*max_elements=*/5000, &header);
    FUZZ_CHECK(header.offset() >= 0 && header.offset() + chunk.size() <= header.block_elements(),
               absl::StrCat("pull chunk of ", chunk.size(), " at ", header.offset()));
    streamed += chunk.size();
  }
  FUZZ_CHECK(streamed == expected, absl::StrCat(streamed, " of ", expected, " elements"));
}

}  // namespace
}  // namespace tessera

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  fuzz::FuzzInput input(data, size);
  const uint8_t setup = input.Byte();
  FakeClock clock;
  VariableStoreOptions options;
  options.clock = &clock;
  options.incarnation = 7;
  VariableStore store(options);
  FUZZ_CHECK(store.CreateVariables(Request(setup)).ok(), "CreateVariables");
  if (setup & 0x10) Initialize(&store);

  std::unique_ptr<PushSession> push = store.StartPush();
  absl::Status status;
  fuzz::WireMessage message;
  while (fuzz::NextWireMessage(&input, &message)) {
    if (message.control & 0x40) {
      PullRequest request;
      if (ParseFromByteBuffer(message.buffer, &request, "PullRequest").ok()) {
        request.set_min_version(0);  // a waiting Pull would wait for another thread
        Pull(&store, request);
      }
      continue;
    }
    if (status.ok()) status = ApplyChunk(message.buffer, push.get());
    if (message.control & 0x80) {
      if (status.ok()) (void)push->Finish();
      push = store.StartPush();
      status = absl::OkStatus();
    }
  }
  if (status.ok()) (void)push->Finish();
  PullRequest all;
  all.set_fingerprint(kFingerprint);
  Pull(&store, all);
  return 0;
}
