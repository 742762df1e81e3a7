// Shared memory between a worker and a ps of one host (docs/protocol.md,
// "Shared memory"): an in-process PsServer with a local socket driven by a
// real PsClient through both sockets. The same values as through the socket;
// a restarted ps's unknown segment re-registered; a ps without shared memory
// still served; a worker's tensors in shared memory pushed and pulled in
// place (SYNC summing them where they are); and every bad segment reference
// a client could send refused with its code and message, the ps serving on.

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/error_kind.h"
#include "common/rpc/channel.h"
#include "common/rpc/chunk_sizes.h"
#include "common/rpc/shared_segment.h"
#include "gtest/gtest.h"
#include "protos/ps_service.grpc.pb.h"
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

class SharedMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tessera_shm_test_XXXXXX";  // TEST_TMPDIR is too deep for a socket
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    socket_ = dir_ + "/ps0-1.sock";
    StartServer(/*shared_memory=*/true);
    big_.resize(kBig);
    for (int64_t i = 0; i < kBig; ++i) big_[i] = static_cast<float>(i % 1000);
    small_ = {1, 2, 3, 4};
  }

  void TearDown() override {
    clients_.clear();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartServer(bool shared_memory) {
    server_.reset();
    PsServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.local_socket = socket_;
    options.shared_memory = shared_memory;
    absl::StatusOr<std::unique_ptr<PsServer>> server = PsServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  PsConnection* Client(bool shared_memory) {
    PsClientOptions options;
    options.unavailable_timeout = absl::Seconds(10);
    options.rpc_timeout = absl::Seconds(30);
    options.local_socket = socket_;
    options.shared_memory = shared_memory;
    options.worker_task = 1;
    absl::StatusOr<std::unique_ptr<PsConnection>> client =
        NewPsClient("127.0.0.1:" + std::to_string(server_->port()), options);
    EXPECT_TRUE(client.ok());
    clients_.push_back(std::move(*client));
    return clients_.back().get();
  }

  void CreateAndAssign(PsConnection* client) {
    ASSERT_TRUE(client->CreateVariables(Model()).ok());
    auto assigned = client->Push(Fields(ASSIGN), names_, {big_, small_});
    ASSERT_TRUE(assigned.ok()) << assigned.status();
  }

  absl::StatusOr<PsConnection::PullResult> PullAll(PsConnection* client, std::vector<float>* big,
                                                   std::vector<float>* small) {
    big->assign(kBig, -1.0f);
    small->assign(4, -1.0f);
    PullRequest request;
    request.set_fingerprint(kFingerprint);
    for (const auto& name : names_) request.add_blocks(name);
    return client->Pull(request, {absl::MakeSpan(*big), absl::MakeSpan(*small)});
  }

  // Pushes a gradient of 2 everywhere but the bias, pulls, and checks the SGD
  // step (learning rate 0.5) exactly.
  void PushPullAndCheck(PsConnection* client, int64_t expected_step) {
    std::vector<float> grad_big(kBig, 2.0f);
    std::vector<float> grad_small = {1, 1, -1, 0.5};
    auto pushed = client->Push(Fields(GRADIENT, true), names_, {grad_big, grad_small});
    ASSERT_TRUE(pushed.ok()) << pushed.status();
    EXPECT_EQ(pushed->global_step(), expected_step);
    EXPECT_EQ(pushed->chunks_applied(),
              (kBig + kStreamChunkElements - 1) / kStreamChunkElements + 1);
    std::vector<float> big, small;
    auto pulled = PullAll(client, &big, &small);
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    for (int64_t i = 0; i < kBig; ++i) {
      ASSERT_EQ(big[i], big_[i] - expected_step) << i;
    }
    EXPECT_EQ(small, (std::vector<float>{1 - 0.5f * expected_step, 2 - 0.5f * expected_step,
                                         3 + 0.5f * expected_step, 4 - 0.25f * expected_step}));
    EXPECT_EQ(pulled->global_step, expected_step);
  }

  // A typed stub over the local socket, for streams Tessera's client never sends.
  std::unique_ptr<ParameterServer::Stub> RawStub() {
    ChannelOptions channel;
    channel.local_socket = socket_;
    return ParameterServer::NewStub(NewChannel("127.0.0.1:1", channel));
  }

  grpc::Status RawPush(const std::vector<TensorChunk>& chunks) {
    auto stub = RawStub();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    PushResponse response;
    auto writer = stub->Push(&context, &response);
    for (const TensorChunk& chunk : chunks) {
      if (!writer->Write(chunk)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  grpc::Status RawPull(const PullRequest& request) {
    auto stub = RawStub();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = stub->Pull(&context, request);
    TensorChunk chunk;
    while (reader->Read(&chunk)) {
    }
    return reader->Finish();
  }

  std::string dir_;
  std::string socket_;
  std::unique_ptr<PsServer> server_;
  std::vector<std::unique_ptr<PsConnection>> clients_;
  const std::vector<std::string> names_ = {"fc/weights", "fc/bias"};
  std::vector<float> big_;
  std::vector<float> small_;
};

TEST_F(SharedMemoryTest, PushesAndPullsThroughSharedMemoryExactly) {
  PsConnection* bytes = Client(/*shared_memory=*/false);
  PsConnection* shared = Client(/*shared_memory=*/true);
  CreateAndAssign(bytes);
  EXPECT_EQ(server_->shared_segments(), 0);  // ASSIGN goes through the socket
  PushPullAndCheck(shared, 1);
  EXPECT_EQ(server_->shared_segments(), 2);  // the push's and the pull's
  EXPECT_EQ(server_->Status().shared_segments(), 2);  // tessera_ctl status --json shows it
  PushPullAndCheck(bytes, 2);                // the socket's client sees the same store
  PushPullAndCheck(shared, 3);
  EXPECT_EQ(server_->shared_segments(), 2);  // reused
  clients_.pop_back();                       // the worker's registrations end with it
  for (int i = 0; i < 500 && server_->shared_segments() != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(server_->shared_segments(), 0);
}

TEST_F(SharedMemoryTest, APushOrPullEndedOnTheClientsSideLeavesItsSegmentToThePs) {
  PsConnection* shared = Client(true);
  CreateAndAssign(shared);
  PushPullAndCheck(shared, 1);
  ASSERT_EQ(server_->shared_segments(), 2);
  // The ps's verdicts end its stream: the segments stay.
  std::vector<float> three(3, 1.0f);
  std::vector<std::string> bias = {"fc/bias"};
  EXPECT_EQ(shared->Push(Fields(GRADIENT), bias, {three}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server_->shared_segments(), 2);
  // An abandoned push: the ps may still be reading it, so the client lets
  // that segment go (the ps keeps it mapped while its stream lasts).
  std::vector<float> grad_big(kBig, 2.0f);
  std::vector<float> grad_small = {1, 1, -1, 0.5};
  auto abandoned = shared->Push(Fields(GRADIENT), names_, {grad_big, grad_small}, {},
                                [](size_t block) { return block == 0; });
  EXPECT_EQ(abandoned.status().code(), absl::StatusCode::kCancelled);
  std::vector<float> big, small;
  // Left: the pull segment (the push segment went with the abandoned push;
  // a pull that ends on the client's side: worker/client_segments_test.cc).
  for (int i = 0; i < 500 && server_->shared_segments() != 1; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(server_->shared_segments(), 1);
  // New ones work (values not checked: the abandoned push applied what of its
  // first block arrived before it was cancelled).
  ASSERT_TRUE(shared->Push(Fields(GRADIENT), names_, {grad_big, grad_small}).ok());
  ASSERT_TRUE(PullAll(shared, &big, &small).ok());
  EXPECT_EQ(small, (std::vector<float>{0, 1, 4, 3.5}));  // the bias: two updates
  EXPECT_EQ(server_->shared_segments(), 2);
}

TEST_F(SharedMemoryTest, ARestartedPsGetsNewSegments) {
  PsConnection* shared = Client(true);
  CreateAndAssign(shared);
  PushPullAndCheck(shared, 1);
  StartServer(true);  // a new incarnation on the same socket: the old ids are unknown
  CreateAndAssign(shared);
  PushPullAndCheck(shared, 1);
  EXPECT_EQ(server_->shared_segments(), 2);
}

TEST_F(SharedMemoryTest, APsWithoutSharedMemoryIsServedThroughTheSocket) {
  StartServer(/*shared_memory=*/false);
  PsConnection* shared = Client(true);
  CreateAndAssign(shared);
  PushPullAndCheck(shared, 1);
  PushPullAndCheck(shared, 2);
  EXPECT_EQ(server_->shared_segments(), 0);
}

TEST_F(SharedMemoryTest, BadSegmentReferencesAreRefusedAndTheServerServesOn) {
  PsConnection* shared = Client(true);
  CreateAndAssign(shared);
  absl::StatusOr<std::unique_ptr<SharedSegment>> segment =
      SharedSegment::Create(SegmentSocketPath(socket_), 64, 1, absl::Seconds(10));
  ASSERT_TRUE(segment.ok()) << segment.status();
  const uint64_t id = (*segment)->id();

  auto chunk = [&](uint64_t segment_id, int64_t offset, int64_t bytes) {
    TensorChunk c;
    *c.mutable_header() = Fields(GRADIENT);
    c.mutable_header()->set_block("fc/bias");
    c.mutable_header()->set_block_elements(4);
    c.mutable_header()->set_segment(segment_id);
    c.mutable_header()->set_segment_offset(offset);
    c.mutable_header()->set_segment_bytes(bytes);
    return c;
  };
  grpc::Status status = RawPush({chunk(id + 1, 0, 16)});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(
      status.error_message(),
      absl::StrCat("Push: shared segment ", id + 1, " is not registered with this ps")))
      << status.error_message();
  status = RawPush({chunk(id, 56, 16)});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "Push chunk of block 'fc/bias': bytes [56, +16) are not inside the shared segment of "
            "64 bytes");
  status = RawPush({chunk(id, -4, 16)});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  status = RawPush({chunk(id, 0, 12)});  // 3 elements for a block of 4
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  TensorChunk with_data = chunk(id, 0, 16);
  with_data.set_data(std::string(16, '\0'));
  status = RawPush({with_data});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "Push chunk of block 'fc/bias': a chunk in a shared segment must be a FLOAT32 "
            "GRADIENT chunk without data; this one carries 16 bytes of data");
  TensorChunk bf16 = chunk(id, 0, 8);
  bf16.mutable_header()->set_encoding(BFLOAT16);
  status = RawPush({bf16});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "; this one is BFLOAT16"))
      << status.error_message();
  TensorChunk assign = chunk(id, 0, 16);
  assign.mutable_header()->set_kind(ASSIGN);
  status = RawPush({assign});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "; this one is ASSIGN"))
      << status.error_message();

  PullRequest pull;
  pull.set_fingerprint(kFingerprint);
  pull.add_blocks("fc/weights");
  pull.set_segment(id + 1);
  status = RawPull(pull);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "Pull: shared segment"));
  pull.set_segment(id);  // 10 MB into 64 bytes
  status = RawPull(pull);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      status.error_message(),
      absl::StrCat("Pull answer for block 'fc/weights' into shared segment ", id, ": bytes [0, +",
                   kStreamChunkElements * 4, ") are not inside the shared segment of 64 bytes"));
  pull.set_encoding(BFLOAT16);
  status = RawPull(pull);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "PullRequest: an answer into a shared segment is FLOAT32");

  // A bias pull into the test's own segment lands there.
  pull.clear_blocks();
  pull.add_blocks("fc/bias");
  pull.set_encoding(FLOAT32);
  EXPECT_TRUE(RawPull(pull).ok());
  std::vector<float> bias(4);
  std::memcpy(bias.data(), (*segment)->data(), 16);
  EXPECT_EQ(bias, small_);

  PushPullAndCheck(shared, 1);  // serving on, nothing applied by the refused pushes
}

// The worker's variables and gradients in shared memory (worker/tensor_memory.h
// lays them out alike): fc/weights and fc/bias, values then gradients.
struct SharedTensors {
  SharedTensors() {
    absl::StatusOr<std::shared_ptr<SharedMemory>> made =
        SharedMemory::Create(2 * kBytes, "the test's tensors");
    EXPECT_TRUE(made.ok()) << made.status();
    memory = *made;
    float* base = reinterpret_cast<float*>(memory->data());
    values = {absl::MakeSpan(base, kBig), absl::MakeSpan(base + kBig, 4)};
    grads = {absl::MakeSpan(base + kBig + 4, kBig), absl::MakeSpan(base + 2 * kBig + 4, 4)};
  }
  static constexpr size_t kBytes = (kBig + 4) * sizeof(float);
  std::shared_ptr<SharedMemory> memory;
  std::vector<absl::Span<float>> values, grads;
};

std::vector<absl::Span<const float>> Const(const std::vector<absl::Span<float>>& spans) {
  return {spans.begin(), spans.end()};
}

TEST_F(SharedMemoryTest, TensorsInSharedMemoryArePushedAndPulledInPlace) {
  PsConnection* shared = Client(true);
  ASSERT_TRUE(shared->can_share_memory());
  EXPECT_FALSE(Client(false)->can_share_memory());
  CreateAndAssign(shared);
  SharedTensors tensors;
  shared->ShareTensorMemory(tensors.memory);
  PullRequest request;
  request.set_fingerprint(kFingerprint);
  for (const auto& name : names_) request.add_blocks(name);
  for (int step = 1; step <= 2; ++step) {
    std::fill(tensors.grads[0].begin(), tensors.grads[0].end(), 2.0f);
    std::copy_n(std::vector<float>{1, 1, -1, 0.5}.begin(), 4, tensors.grads[1].begin());
    auto pushed = shared->Push(Fields(GRADIENT, true), names_, Const(tensors.grads));
    ASSERT_TRUE(pushed.ok()) << pushed.status();
    EXPECT_EQ(pushed->global_step(), step);
    auto pulled = shared->Pull(request, tensors.values);
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    EXPECT_EQ(pulled->global_step, step);
    for (int64_t i = 0; i < kBig; ++i) ASSERT_EQ(tensors.values[0][i], big_[i] - step) << i;
    EXPECT_EQ(
        std::vector<float>(tensors.values[1].begin(), tensors.values[1].end()),
        (std::vector<float>{1 - 0.5f * step, 2 - 0.5f * step, 3 + 0.5f * step, 4 - 0.25f * step}));
  }
  // One registration, the tensors': neither call needed a segment of its own.
  EXPECT_EQ(server_->shared_segments(), 1);
  // Tensors elsewhere still go through a segment of the call's own.
  std::vector<float> big, small;
  ASSERT_TRUE(PullAll(shared, &big, &small).ok());
  EXPECT_EQ(big[7], big_[7] - 2);
  EXPECT_EQ(server_->shared_segments(), 2);
}

TEST_F(SharedMemoryTest, SyncSumsTheWorkersGradientsWhereTheyAre) {
  CreateVariablesRequest model = Model();
  model.set_update_mode(SYNC);
  StartServer(true);
  PsConnection* first = Client(true);
  PsConnection* second = Client(true);
  ASSERT_TRUE(first->CreateVariables(model).ok());
  ASSERT_TRUE(first->Push(Fields(ASSIGN), names_, {big_, small_}).ok());
  SharedTensors a, b;
  first->ShareTensorMemory(a.memory);
  second->ShareTensorMemory(b.memory);
  std::fill(a.grads[0].begin(), a.grads[0].end(), 1.0f);
  std::fill(b.grads[0].begin(), b.grads[0].end(), 3.0f);
  std::fill(a.grads[1].begin(), a.grads[1].end(), 4.0f);
  std::fill(b.grads[1].begin(), b.grads[1].end(), -2.0f);
  ChunkHeader fields = Fields(GRADIENT, true);
  fields.set_step(0);
  fields.set_worker_task(0);
  ASSERT_TRUE(first->Push(fields, names_, Const(a.grads)).ok());
  // Held, not copied: the sum reads worker 0's gradient when worker 1's
  // arrives (a worker leaves it alone until its next pull shows the step).
  a.grads[1][0] = 8.0f;
  fields.set_worker_task(1);
  ASSERT_TRUE(second->Push(fields, names_, Const(b.grads)).ok());
  PullRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_min_version(1);
  for (const auto& name : names_) request.add_blocks(name);
  auto pulled = first->Pull(request, a.values);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  for (int64_t i = 0; i < kBig; ++i) ASSERT_EQ(a.values[0][i], big_[i] - 1) << i;  // mean 2
  EXPECT_EQ(std::vector<float>(a.values[1].begin(), a.values[1].end()),
            (std::vector<float>{1 - 1.5f, 2 - 0.5f, 3 - 0.5f, 4 - 0.5f}));  // means 3, 1, 1, 1
}

TEST_F(SharedMemoryTest, BadSegmentOffsetsAreRefused) {
  PsConnection* shared = Client(true);
  CreateAndAssign(shared);
  absl::StatusOr<std::unique_ptr<SharedSegment>> segment =
      SharedSegment::Create(SegmentSocketPath(socket_), 64, 1, absl::Seconds(10));
  ASSERT_TRUE(segment.ok()) << segment.status();
  PullRequest pull;
  pull.set_fingerprint(kFingerprint);
  pull.add_blocks("fc/bias");
  pull.add_segment_offsets(16);
  grpc::Status status = RawPull(pull);  // no segment
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "PullRequest: 1 segment_offsets for 1 blocks and no segment (need a segment and one "
            "offset per named block)");
  pull.set_segment((*segment)->id());
  pull.add_segment_offsets(0);
  status = RawPull(pull);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "PullRequest: 2 segment_offsets for 1 blocks (need a segment and one offset per "
            "named block)");
  pull.clear_segment_offsets();
  pull.add_segment_offsets(-16);
  status = RawPull(pull);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "PullRequest: segment offset -16 of block 'fc/bias' is negative");
  pull.add_blocks("fc/bias");
  pull.clear_segment_offsets();
  pull.add_segment_offsets(0);
  pull.add_segment_offsets(16);
  status = RawPull(pull);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "PullRequest: block 'fc/bias' is named twice with segment_offsets");
  pull.clear_blocks();
  pull.add_blocks("fc/bias");
  pull.clear_segment_offsets();
  pull.add_segment_offsets(56);  // 16 bytes from byte 56 of 64
  status = RawPull(pull);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("Pull answer for block 'fc/bias' into shared segment ", (*segment)->id(),
                         ": bytes [56, +16) are not inside the shared segment of 64 bytes"));
  pull.set_segment_offsets(0, 1ll << 62);
  EXPECT_EQ(RawPull(pull).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  pull.set_segment_offsets(0, 40);  // where it was asked for
  EXPECT_TRUE(RawPull(pull).ok());
  std::vector<float> bias(4);
  std::memcpy(bias.data(), (*segment)->data() + 40, 16);
  EXPECT_EQ(bias, small_);
  PushPullAndCheck(shared, 1);
}

}  // namespace
}  // namespace tessera
