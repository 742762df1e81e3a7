// The ps over real gRPC on loopback: an in-process PsServer on port 0 driven
// by a real PsClient (and, for malformed streams a correct client never
// sends, by the generated typed stub, which also proves that the fast path's
// bytes are ordinary protobuf).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/bfloat16.h"
#include "gtest/gtest.h"
#include "protos/admin.grpc.pb.h"
#include "ps/ps_server.h"
#include "test/sgd_test_model.h"
#include "worker/ps_client.h"

namespace tessera {
namespace {

constexpr const char* kFingerprint = kSgdTestFingerprint;
constexpr int64_t kBig = kSgdTestBig;  // 10 MB: several chunks (at most 4 MiB each)

CreateVariablesRequest Model() { return SgdTestModel(); }

ChunkHeader Fields(ChunkKind kind, bool increment_global_step = false) {
  return SgdTestFields(kind, increment_global_step);
}

class PsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PsServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.incarnation = 99;
    auto server = PsServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    address_ = "127.0.0.1:" + std::to_string(server_->port());
    PsClientOptions client_options;
    client_options.unavailable_timeout = absl::Seconds(10);
    client_options.rpc_timeout = absl::Seconds(30);
    auto client = NewPsClient(address_, client_options);
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
    big_.resize(kBig);
    for (int64_t i = 0; i < kBig; ++i) big_[i] = static_cast<float>(i % 1000);
    small_ = {1, 2, 3, 4};
  }

  void CreateAndAssign() {
    ASSERT_TRUE(client_->CreateVariables(Model()).ok());
    auto assigned = client_->Push(Fields(ASSIGN), names_, {big_, small_});
    ASSERT_TRUE(assigned.ok()) << assigned.status();
  }

  absl::StatusOr<PsConnection::PullResult> PullAll(std::vector<float>* big, std::vector<float>* small) {
    big->assign(kBig, -1.0f);
    small->assign(4, -1.0f);
    PullRequest request;
    request.set_fingerprint(kFingerprint);
    for (const auto& name : names_) request.add_blocks(name);
    return client_->Pull(request, {absl::MakeSpan(*big), absl::MakeSpan(*small)});
  }

  // A Push stream written with the generated typed stub.
  grpc::Status RawPush(const std::vector<TensorChunk>& chunks, PushResponse* response) {
    auto stub = ParameterServer::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto writer = stub->Push(&context, response);
    for (const TensorChunk& chunk : chunks) {
      if (!writer->Write(chunk)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  TensorChunk Chunk(const std::string& block, int64_t offset, int64_t block_elements,
                    int64_t elements) {
    TensorChunk chunk;
    *chunk.mutable_header() = Fields(GRADIENT);
    chunk.mutable_header()->set_block(block);
    chunk.mutable_header()->set_offset(offset);
    chunk.mutable_header()->set_block_elements(block_elements);
    chunk.set_data(std::string(elements * 4, '\0'));
    return chunk;
  }

  std::unique_ptr<PsServer> server_;
  std::string address_;
  std::unique_ptr<PsConnection> client_;
  const std::vector<std::string> names_ = {"fc/weights", "fc/bias"};
  std::vector<float> big_;
  std::vector<float> small_;
};

TEST_F(PsServiceTest, CreateAssignPullPushSgdExactly) {
  std::vector<float> big, small;
  auto early = PullAll(&big, &small);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(early.status().message(),
            "Pull to ps 0 at " + address_ + ": " + kNotInitializedMessage);

  CreateAndAssign();
  auto pulled = PullAll(&big, &small);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(big, big_);
  EXPECT_EQ(small, small_);
  EXPECT_EQ(pulled->incarnation, 99u);
  EXPECT_EQ(pulled->global_step, 0);
  EXPECT_EQ(pulled->versions, (std::vector<int64_t>{0, 0}));

  std::vector<float> grad_big(kBig, 2.0f);
  std::vector<float> grad_small = {1, 1, -1, 0.5};
  auto pushed = client_->Push(Fields(GRADIENT, true), names_, {grad_big, grad_small});
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->global_step(), 1);
  // The big block in the client's chunks (ten of 1 MiB), the small one in one.
  EXPECT_EQ(pushed->chunks_applied(),
            (kBig + kStreamChunkElements - 1) / kStreamChunkElements + 1);
  EXPECT_EQ(pushed->incarnation(), 99u);

  pulled = PullAll(&big, &small);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  for (int64_t i = 0; i < kBig; ++i) {
    ASSERT_EQ(big[i], big_[i] - 1.0f) << i;
  }
  EXPECT_EQ(small, (std::vector<float>{0.5, 1.5, 3.5, 3.75}));
  EXPECT_EQ(pulled->versions, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(pulled->global_step, 1);
}

TEST_F(PsServiceTest, BadRequestsGetExactCodesAndTheServerKeepsServing) {
  CreateAndAssign();
  const std::string prefix = "Push to ps 0 at " + address_ + ": ";
  std::vector<float> three(3, 1.0f);
  std::vector<std::string> bias = {"fc/bias"};

  auto status = client_->Push(Fields(GRADIENT), bias, {three}).status();  // wrong size
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            prefix + "block 'fc/bias' has 4 elements (shape [4]), the push says 3");

  std::vector<std::string> unknown = {"fc/nothing"};
  status = client_->Push(Fields(GRADIENT), unknown, {three}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), prefix + "no block named 'fc/nothing' on this ps");

  ChunkHeader wrong = Fields(GRADIENT);
  wrong.set_fingerprint("feedfeedfeedfeed");
  status = client_->Push(wrong, bias, {small_}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "fingerprint 'feedfeedfeedfeed' does not match"))
      << status;

  PushResponse response;
  grpc::Status raw = RawPush({Chunk("fc/weights", 1048576, kBig, 16)}, &response);
  EXPECT_EQ(raw.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(raw.error_message(),
            "chunk out of order: block 'fc/weights' chunk at element 1048576, expected element 0");

  raw = RawPush({}, &response);
  EXPECT_EQ(raw.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(raw.error_message(), "empty push: the stream carried no chunk");

  // Chunks of exactly the limit (4 MiB; Tessera's own client sends 1 MiB) are
  // accepted from any client.
  raw = RawPush({Chunk("fc/weights", 0, kBig, kMaxChunkElements),
                 Chunk("fc/weights", kMaxChunkElements, kBig, kMaxChunkElements),
                 Chunk("fc/weights", 2 * kMaxChunkElements, kBig, kBig - 2 * kMaxChunkElements)},
                &response);
  EXPECT_TRUE(raw.ok()) << raw.error_message();
  EXPECT_EQ(response.chunks_applied(), 3);

  raw = RawPush({Chunk("fc/weights", 0, kBig, 1048577)}, &response);
  EXPECT_EQ(raw.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(raw.error_message(),
            "block 'fc/weights' chunk at elements [0, 1048577): payload of 4194308 bytes exceeds "
            "the chunk limit of 4194304 bytes (4 MiB)");

  // Still serving, and nothing above changed a value.
  std::vector<float> big, small;
  auto pulled = PullAll(&big, &small);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(small, small_);
  EXPECT_EQ(big, big_);

  // A typed-stub push of a valid chunk works too (plain protobuf bytes).
  TensorChunk good = Chunk("fc/bias", 0, 4, 4);
  raw = RawPush({good}, &response);
  EXPECT_TRUE(raw.ok()) << raw.error_message();
  EXPECT_EQ(response.chunks_applied(), 1);
}

TEST_F(PsServiceTest, Bfloat16PullsAndGradientPushesCarryRoundedValues) {
  CreateAndAssign();  // big_ holds 0..999: above 256 most are not bfloat16 values
  std::vector<float> big(kBig), small(4);
  PullRequest request;
  request.set_fingerprint(kFingerprint);
  for (const auto& name : names_) request.add_blocks(name);
  request.set_encoding(BFLOAT16);
  auto pulled = client_->Pull(request, {absl::MakeSpan(big), absl::MakeSpan(small)});
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  int64_t changed = 0;
  for (int64_t i = 0; i < kBig; ++i) {
    ASSERT_EQ(big[i], Bfloat16ToFloat(FloatToBfloat16(big_[i]))) << i;
    changed += big[i] != big_[i];
  }
  EXPECT_GT(changed, kBig / 3);
  EXPECT_EQ(small, small_);
  EXPECT_EQ(pulled->versions, (std::vector<int64_t>{0, 0}));

  // A bfloat16 gradient: the ps applies the rounded gradient to its float32 values.
  std::vector<float> grad_big(kBig);
  for (int64_t i = 0; i < kBig; ++i) grad_big[i] = 1.0f / 3.0f + 0.01f * static_cast<float>(i % 7);
  std::vector<float> grad_small = {0.1f, -0.2f, 0.3f, 1.0f};
  ChunkHeader fields = Fields(GRADIENT, true);
  fields.set_encoding(BFLOAT16);
  auto pushed = client_->Push(fields, names_, {grad_big, grad_small});
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->global_step(), 1);
  EXPECT_EQ(pushed->chunks_applied(), (kBig + kStreamChunkElements - 1) / kStreamChunkElements + 1);
  auto exact = PullAll(&big, &small);  // FLOAT32: the ps's own values
  ASSERT_TRUE(exact.ok()) << exact.status();
  for (int64_t i = 0; i < kBig; ++i) {
    const float rounded = Bfloat16ToFloat(FloatToBfloat16(grad_big[i]));
    ASSERT_NE(rounded, grad_big[i]) << i;
    ASSERT_EQ(big[i], big_[i] - 0.5f * rounded) << i;
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(small[i], small_[i] - 0.5f * Bfloat16ToFloat(FloatToBfloat16(grad_small[i])));
  }

  // Values are set exactly: an ASSIGN push may not be bfloat16.
  ChunkHeader assign = Fields(ASSIGN);
  assign.set_encoding(BFLOAT16);
  absl::Status status = client_->Push(assign, names_, {big_, small_}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "Push to ps 0 at " + address_ +
                                  ": chunk of block 'fc/weights' is BFLOAT16 but the push is "
                                  "ASSIGN: only GRADIENT pushes may be bfloat16 (values and "
                                  "slots are set exactly)");
  // Malformed bfloat16 chunks from any client.
  PushResponse response;
  TensorChunk odd = Chunk("fc/bias", 0, 4, 1);
  odd.mutable_header()->set_encoding(BFLOAT16);
  odd.set_data(std::string(7, '\0'));
  grpc::Status raw = RawPush({odd}, &response);
  EXPECT_EQ(raw.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(raw.error_message(),
            "block 'fc/bias' chunk at elements [0, 3): payload of 7 bytes is not a multiple of 2 "
            "(BFLOAT16)");
  TensorChunk unknown = Chunk("fc/bias", 0, 4, 4);
  unknown.mutable_header()->set_encoding(static_cast<TensorEncoding>(9));
  raw = RawPush({unknown}, &response);
  EXPECT_EQ(raw.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(raw.error_message(),
            "chunk of block 'fc/bias': unknown tensor encoding 9 (known: FLOAT32, BFLOAT16)");
  request.set_encoding(static_cast<TensorEncoding>(9));
  status = client_->Pull(request, {absl::MakeSpan(big), absl::MakeSpan(small)}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "Pull to ps 0 at " + address_ +
                                  ": Pull asks for unknown tensor encoding 9 (known: FLOAT32, "
                                  "BFLOAT16)");
  // Nothing above changed a value, and the ps serves on.
  std::vector<float> after_big, after_small;
  ASSERT_TRUE(PullAll(&after_big, &after_small).ok());
  EXPECT_EQ(after_big, big);
  EXPECT_EQ(after_small, small);
}

TEST_F(PsServiceTest, PullsChunksOfOneBlockWithUnknownBlockNotFound) {
  CreateAndAssign();
  PullRequest request;
  request.set_fingerprint(kFingerprint);
  request.add_blocks("fc/bias");
  request.add_blocks("fc/missing");
  std::vector<float> a(4), b(4);
  auto status = client_->Pull(request, {absl::MakeSpan(a), absl::MakeSpan(b)}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "Pull to ps 0 at " + address_ + ": no block named 'fc/missing' on this ps");
  // A destination of the wrong size is caught by the client, naming the block.
  request.set_blocks(1, "fc/bias");
  std::vector<float> too_small(3);
  status = client_->Pull(request, {absl::MakeSpan(a), absl::MakeSpan(too_small)}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(status.message(), "block 'fc/bias'")) << status;
}

TEST_F(PsServiceTest, AdminStatusAndShutdown) {
  auto admin = Admin::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  StatusResponse status;
  ASSERT_TRUE(admin->GetStatus(&context, StatusRequest(), &status).ok());
  EXPECT_EQ(status.job(), "ps");
  EXPECT_EQ(status.state(), "waiting_for_chief");
  EXPECT_EQ(status.waiting_for(), "the chief to create the variables (CreateVariables)");
  CreateAndAssign();
  grpc::ClientContext context2;
  ASSERT_TRUE(admin->GetStatus(&context2, StatusRequest(), &status).ok());
  EXPECT_EQ(status.state(), "ready");
  EXPECT_EQ(status.num_blocks(), 2);
  EXPECT_EQ(status.bytes_held(), (kBig + 4) * 4);
  EXPECT_EQ(status.pushes(), 1);
  EXPECT_EQ(status.bytes_pushed(), (kBig + 4) * 4);
  EXPECT_EQ(status.global_step(), 0);
  EXPECT_GT(status.rss_bytes(), (kBig + 4) * 4);

  grpc::ClientContext context3;
  ShutdownRequest request;
  request.set_reason("test");
  ShutdownResponse response;
  ASSERT_TRUE(admin->Shutdown(&context3, request, &response).ok());
  server_->Wait(absl::Seconds(5));  // returns: the shutdown was requested
  EXPECT_EQ(server_->state(), PsServer::State::kStopped);
}

TEST_F(PsServiceTest, SecondServerOnTheSamePortFailsClearly) {
  PsServerOptions options;
  options.task = 1;
  options.listen_address = address_;
  options.address = "node7:" + std::to_string(server_->port());
  auto second = PsServer::Create(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            "ps:1: cannot listen on " + address_ + " (cluster address node7:" +
                std::to_string(server_->port()) + "): port " + std::to_string(server_->port()) +
                ": Address already in use (is another task or an old process still running?)");
}

TEST_F(PsServiceTest, SnapshotStreamsEveryBlockInChunks) {
  CreateAndAssign();
  std::vector<float> big(kBig), small(4);
  SnapshotRequest request;
  request.set_fingerprint(kFingerprint);
  std::vector<std::string> seen;
  auto result = client_->Snapshot(
      request, [&](const std::string& block, const std::string& slot)
                   -> absl::StatusOr<absl::Span<float>> {
        seen.push_back(block + "|" + slot);
        return block == "fc/weights" ? absl::MakeSpan(big) : absl::MakeSpan(small);
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->incarnation, 99u);
  EXPECT_EQ(result->global_step, 0);
  EXPECT_EQ(result->tensors, 2);
  EXPECT_EQ(seen, (std::vector<std::string>{"fc/weights|", "fc/bias|"}));
  EXPECT_TRUE(big == big_);
  EXPECT_EQ(small, small_);

  // A sink error ends the snapshot with that error.
  auto failed = client_->Snapshot(
      request, [](const std::string&, const std::string&) -> absl::StatusOr<absl::Span<float>> {
        return absl::InvalidArgumentError("no room");
      });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(failed.status().message(), "no room")) << failed.status();
}

// An overlapped pull (a BlockArrived callback) hands on each block as it is
// complete, in request order; when the ps goes away after a block was handed
// on, the call is not retried (it would write into values in use) but ends
// ABORTED saying so.
TEST_F(PsServiceTest, OverlappedPullHandsOnBlocksAndIsNotRetriedOnceOneWasHandedOn) {
  CreateAndAssign();
  std::vector<float> big(kBig, -1.0f), small(4, -1.0f);
  PullRequest request;
  request.set_fingerprint(kFingerprint);
  request.add_blocks("fc/bias");     // small, first
  request.add_blocks("fc/weights");  // 10 MB, in several chunks
  std::vector<size_t> arrived;
  auto pulled =
      client_->Pull(request, {absl::MakeSpan(small), absl::MakeSpan(big)}, [&](size_t block) {
        if (block == 1) {
          EXPECT_EQ(big, big_);
        }
        arrived.push_back(block);
      });
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(arrived, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(small, small_);

  // The ps stops as soon as the first block is in (while this client reads
  // no further, so the rest cannot all be on its way already).
  arrived.clear();
  pulled = client_->Pull(request, {absl::MakeSpan(small), absl::MakeSpan(big)}, [&](size_t block) {
    arrived.push_back(block);
    if (block == 0) server_->Stop(absl::ZeroDuration());
  });
  ASSERT_FALSE(pulled.ok()) << "the 10 MB block came whole before the ps stopped";
  EXPECT_EQ(arrived, (std::vector<size_t>{0}));
  EXPECT_EQ(pulled.status().code(), absl::StatusCode::kAborted) << pulled.status();
  EXPECT_TRUE(absl::StrContains(pulled.status().message(),
                                "pull broke after 1 of 2 blocks were in use (not retried)"))
      << pulled.status();
}

}  // namespace
}  // namespace tessera
