#include "ps/variable_store.h"

#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "00000000000000aa";

CreateVariablesRequest TwoBlocks(float learning_rate = 0.5f) {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(2);
  request.set_holds_global_step(true);
  request.mutable_optimizer()->set_learning_rate(learning_rate);
  request.mutable_optimizer()->mutable_sgd();
  BlockSpec* a = request.add_blocks();
  a->set_name("w");
  a->set_variable("w");
  a->mutable_shape()->add_dim(2);
  a->mutable_shape()->add_dim(3);
  BlockSpec* b = request.add_blocks();
  b->set_name("b");
  b->set_variable("b");
  b->mutable_shape()->add_dim(3);
  return request;
}

ChunkHeader Chunk(const std::string& block, int64_t offset, int64_t block_elements,
                  ChunkKind kind = GRADIENT) {
  ChunkHeader header;
  header.set_block(block);
  header.set_offset(offset);
  header.set_block_elements(block_elements);
  header.set_kind(kind);
  header.set_fingerprint(kFingerprint);
  header.set_worker_task(1);
  return header;
}

// Pushes `values` as one chunk per block.
absl::StatusOr<PushResponse> PushBlocks(VariableStore* store, ChunkKind kind,
                                        const std::vector<std::pair<std::string, std::vector<float>>>& blocks,
                                        bool increment_global_step = false) {
  auto session = store->StartPush();
  for (const auto& [name, values] : blocks) {
    ChunkHeader header = Chunk(name, 0, static_cast<int64_t>(values.size()), kind);
    header.set_increment_global_step(increment_global_step);
    absl::Status status = session->AddChunk(header, values);
    if (!status.ok()) return status;
  }
  return session->Finish();
}

std::vector<float> ReadBlock(VariableStore* store, const std::string& name, int64_t* version = nullptr,
                             int64_t chunk_elements = 1 << 20) {
  PullRequest request;
  request.set_fingerprint(kFingerprint);
  request.add_blocks(name);
  auto session = store->StartPull(request);
  EXPECT_TRUE(session.ok()) << session.status();
  std::vector<float> out;
  while (session.ok() && !(*session)->Done()) {
    ChunkHeader header;
    const SharedFloats chunk = (*session)->NextChunk(chunk_elements, &header);
    EXPECT_EQ(header.offset(), static_cast<int64_t>(out.size()));
    EXPECT_LE(chunk.size(), chunk_elements);
    out.insert(out.end(), chunk.data(), chunk.data() + chunk.size());
    if (version != nullptr) *version = header.version();
  }
  return out;
}

class VariableStoreTest : public ::testing::Test {
 protected:
  VariableStoreTest() : store_({&clock_, 77, {}}) {}
  void CreateAndAssign() {
    ASSERT_TRUE(store_.CreateVariables(TwoBlocks()).ok());
    ASSERT_TRUE(PushBlocks(&store_, ASSIGN, {{"w", {1, 2, 3, 4, 5, 6}}, {"b", {0.5, 0.25, 0}}}).ok());
  }
  FakeClock clock_;
  VariableStore store_;
};

TEST_F(VariableStoreTest, CreateIsIdempotentAndRefusesAnotherFingerprint) {
  auto first = store_.CreateVariables(TwoBlocks());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created());
  EXPECT_FALSE(first->initialized());
  EXPECT_EQ(first->incarnation(), 77u);
  auto again = store_.CreateVariables(TwoBlocks());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created());

  CreateVariablesRequest other = TwoBlocks();
  other.set_fingerprint("00000000000000bb");
  other.mutable_blocks(1)->mutable_shape()->set_dim(0, 4);
  auto refused = store_.CreateVariables(other);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "this ps holds the variables of model fingerprint 00000000000000aa; the request has "
            "fingerprint 00000000000000bb; first difference: block 'b' has shape [3] at row 0 "
            "here, [4] at row 0 in the request (every task must use the same model and cluster "
            "file)");
}

TEST_F(VariableStoreTest, CreateRejectsBadBlocksAndModes) {
  CreateVariablesRequest negative = TwoBlocks();
  negative.mutable_blocks(0)->mutable_shape()->set_dim(1, -3);
  EXPECT_EQ(store_.CreateVariables(negative).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(store_.CreateVariables(negative).status().message().find("block 'w'"),
            absl::string_view::npos);
  CreateVariablesRequest empty = TwoBlocks();
  empty.mutable_blocks(1)->mutable_shape()->set_dim(0, 0);
  EXPECT_EQ(store_.CreateVariables(empty).status().message(),
            "block 'b' has shape [0] with no elements");
  CreateVariablesRequest twice = TwoBlocks();
  twice.mutable_blocks(1)->set_name("w");
  EXPECT_EQ(store_.CreateVariables(twice).status().message(),
            "CreateVariables: block 'w' appears twice");
  CreateVariablesRequest sync = TwoBlocks();
  sync.set_update_mode(SYNC);
  sync.set_replicas_to_aggregate(3);
  EXPECT_EQ(store_.CreateVariables(sync).status().message(),
            "CreateVariables: replicas_to_aggregate 3 exceeds total_replicas 2");
  sync.set_replicas_to_aggregate(1);
  sync.set_total_replicas(3);
  EXPECT_EQ(store_.CreateVariables(sync).status().message(),
            "CreateVariables: total_replicas 3 exceeds num_workers 2");
  CreateVariablesRequest stale = TwoBlocks();
  stale.set_update_mode(STALE);
  stale.set_staleness(-1);
  EXPECT_EQ(store_.CreateVariables(stale).status().message(),
            "CreateVariables: staleness must be >= 0, got -1");
  CreateVariablesRequest no_optimizer = TwoBlocks();
  no_optimizer.clear_optimizer();
  EXPECT_EQ(store_.CreateVariables(no_optimizer).status().code(),
            absl::StatusCode::kInvalidArgument);
  // None of these created anything.
  EXPECT_FALSE(store_.Summary().created);
}

TEST_F(VariableStoreTest, PullAndGradientBeforeInitializationAreFailedPrecondition) {
  PullRequest pull;
  pull.set_fingerprint(kFingerprint);
  EXPECT_EQ(store_.StartPull(pull).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_.StartPull(pull).status().message(), kNotInitializedMessage);
  ASSERT_TRUE(store_.CreateVariables(TwoBlocks()).ok());
  // Only one of the two blocks assigned: still not ready.
  ASSERT_TRUE(PushBlocks(&store_, ASSIGN, {{"w", {1, 2, 3, 4, 5, 6}}}).ok());
  EXPECT_FALSE(store_.Summary().ready);
  EXPECT_EQ(store_.StartPull(pull).status().message(), kNotInitializedMessage);
  EXPECT_EQ(PushBlocks(&store_, GRADIENT, {{"w", {1, 1, 1, 1, 1, 1}}}).status().message(),
            kNotInitializedMessage);
  ASSERT_TRUE(PushBlocks(&store_, ASSIGN, {{"b", {7, 8, 9}}}).ok());
  EXPECT_TRUE(store_.Summary().ready);
  EXPECT_EQ(ReadBlock(&store_, "b"), (std::vector<float>{7, 8, 9}));
}

TEST_F(VariableStoreTest, AsyncSgdUpdatesExactlyAndAdvancesGlobalStep) {
  CreateAndAssign();
  auto response = PushBlocks(&store_, GRADIENT, {{"w", {2, 2, 2, 2, 2, 2}}, {"b", {1, 1, 1}}},
                             /*increment_global_step=*/true);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->global_step(), 1);
  EXPECT_EQ(response->chunks_applied(), 2);
  EXPECT_EQ(response->incarnation(), 77u);
  int64_t version = -1;
  EXPECT_EQ(ReadBlock(&store_, "w", &version), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(version, 1);
  EXPECT_EQ(ReadBlock(&store_, "b"), (std::vector<float>{0, -0.25, -0.5}));
  const StoreSummary summary = store_.Summary();
  EXPECT_EQ(summary.global_step, 1);
  EXPECT_EQ(summary.bytes_held, 9 * 4);
  EXPECT_EQ(summary.workers.at(1).last_step, 0);
  EXPECT_EQ(summary.workers.at(1).last_push, clock_.Now());
}

TEST_F(VariableStoreTest, ScheduleFollowsTheGlobalStep) {
  CreateVariablesRequest request = TwoBlocks();
  auto* piecewise = request.mutable_optimizer()->mutable_schedule()->mutable_piecewise_constant();
  piecewise->add_boundaries(0);
  piecewise->add_values(1.0f);
  piecewise->add_values(0.25f);
  ASSERT_TRUE(store_.CreateVariables(request).ok());
  ASSERT_TRUE(PushBlocks(&store_, ASSIGN, {{"w", {0, 0, 0, 0, 0, 0}}, {"b", {0, 0, 0}}}).ok());
  ASSERT_TRUE(PushBlocks(&store_, GRADIENT, {{"b", {1, 1, 1}}}, true).ok());  // step 0: lr 1
  ASSERT_TRUE(PushBlocks(&store_, GRADIENT, {{"b", {1, 1, 1}}}, true).ok());  // step 1: lr 0.25
  EXPECT_EQ(ReadBlock(&store_, "b"), (std::vector<float>{-1.25, -1.25, -1.25}));
}

TEST_F(VariableStoreTest, ChunkedPushAndPull) {
  CreateAndAssign();
  auto session = store_.StartPush();
  ASSERT_TRUE(session->AddChunk(Chunk("w", 0, 6), std::vector<float>{2, 2, 2, 2}).ok());
  ASSERT_TRUE(session->AddChunk(Chunk("w", 4, 6), std::vector<float>{4, 4}).ok());
  ASSERT_TRUE(session->Finish().ok());
  EXPECT_EQ(ReadBlock(&store_, "w", nullptr, 4), (std::vector<float>{0, 1, 2, 3, 3, 4}));
}

TEST_F(VariableStoreTest, BadPushesNameTheBlockAndTheProblem) {
  CreateAndAssign();
  struct Case {
    ChunkHeader header;
    int64_t bytes;
    absl::StatusCode code;
    std::string message;
  };
  ChunkHeader wrong_fingerprint = Chunk("w", 0, 6);
  wrong_fingerprint.set_fingerprint("ff");
  ChunkHeader bad_worker = Chunk("w", 0, 6);
  bad_worker.set_worker_task(2);
  const std::vector<Case> cases = {
      {Chunk("nope", 0, 6), 24, absl::StatusCode::kNotFound, "no block named 'nope' on this ps"},
      {wrong_fingerprint, 24, absl::StatusCode::kFailedPrecondition,
       "model fingerprint 'ff' does not match this ps's fingerprint 00000000000000aa (every task "
       "must use the same model and cluster file)"},
      {Chunk("w", 0, 7), 24, absl::StatusCode::kInvalidArgument,
       "block 'w' has 6 elements (shape [2, 3]), the push says 7"},
      {Chunk("w", 2, 6), 16, absl::StatusCode::kInvalidArgument,
       "chunk out of order: block 'w' chunk at element 2, expected element 0"},
      {Chunk("w", 0, 6), 6, absl::StatusCode::kInvalidArgument,
       "block 'w' chunk at elements [0, 1): payload of 6 bytes is not a multiple of 4 (FLOAT32)"},
      {Chunk("w", 0, 6), 28, absl::StatusCode::kInvalidArgument,
       "block 'w' chunk at elements [0, 7) exceeds the block's 6 elements"},
      {Chunk("w", 0, 6), kMaxChunkBytes + 4, absl::StatusCode::kInvalidArgument,
       "block 'w' chunk at elements [0, 1048577): payload of 4194308 bytes exceeds the chunk "
       "limit of 4194304 bytes (4 MiB)"},
      {Chunk("w", 0, 6, VALUES), 24, absl::StatusCode::kInvalidArgument,
       "push chunks must be GRADIENT or ASSIGN, got VALUES"},
      {bad_worker, 24, absl::StatusCode::kInvalidArgument, "worker_task 2 is out of range [0, 2)"},
  };
  for (const Case& c : cases) {
    auto session = store_.StartPush();
    absl::Status status = session->BeginChunk(c.header, c.bytes);
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_EQ(status.message(), c.message);
    EXPECT_EQ(session->Finish().status(), status);  // the session stays failed
  }
  // Nothing was applied, and the store keeps serving.
  EXPECT_EQ(ReadBlock(&store_, "w"), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

// One block of `n` elements, trained with SGD at `learning_rate`.
CreateVariablesRequest OneSgdBlock(const std::string& name, int64_t n, float learning_rate) {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(2);
  request.mutable_optimizer()->set_learning_rate(learning_rate);
  request.mutable_optimizer()->mutable_sgd();
  BlockSpec* block = request.add_blocks();
  block->set_name(name);
  block->set_variable(name);
  block->mutable_shape()->add_dim(n);
  return request;
}

// A chunk longer than a piece is applied piece by piece: every element
// exactly once, and the block's version moves once, after the last piece.
TEST(VariableStorePiecesTest, ChunkLongerThanAPieceIsAppliedOnce) {
  FakeClock clock;
  VariableStore store({&clock, 5, {}});
  const int64_t n = 2 * PushSession::kPieceElements + 123;
  ASSERT_TRUE(store.CreateVariables(OneSgdBlock("big", n, 0.5f)).ok());
  std::vector<float> values(n), grads(n);
  for (int64_t i = 0; i < n; ++i) {
    values[i] = static_cast<float>(i % 1000);
    grads[i] = static_cast<float>(i % 7);
  }
  ASSERT_TRUE(PushBlocks(&store, ASSIGN, {{"big", values}}).ok());
  int64_t version_before = -1;
  ReadBlock(&store, "big", &version_before);
  ASSERT_TRUE(PushBlocks(&store, GRADIENT, {{"big", grads}}).ok());
  int64_t version = -1;
  const std::vector<float> after = ReadBlock(&store, "big", &version);
  ASSERT_EQ(static_cast<int64_t>(after.size()), n);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(after[i], values[i] - 0.5f * grads[i]) << "element " << i;
  }
  EXPECT_EQ(version, version_before + 1);
}

// Pull chunks are pieces of the block's values sent without a copy
// (ps/block_values.h): a gradient applied while a chunk is still held leaves
// that chunk as it was, and the next Pull sees the update. Chunks of the
// ASSIGN and the gradient cross the boundary between two pieces.
TEST(VariableStorePiecesTest, PullChunkHeldDuringAPushKeepsItsValues) {
  FakeClock clock;
  VariableStore store({&clock, 5, {}});
  const int64_t n = kValuePieceElements + 1000;
  ASSERT_TRUE(store.CreateVariables(OneSgdBlock("big", n, 1.0f)).ok());
  std::vector<float> values(n), grads(n, 0.25f);
  for (int64_t i = 0; i < n; ++i) values[i] = static_cast<float>(i % 1000);
  ASSERT_TRUE(PushBlocks(&store, ASSIGN, {{"big", values}}).ok());

  PullRequest pull;
  pull.set_fingerprint(kFingerprint);
  auto session = store.StartPull(pull);
  ASSERT_TRUE(session.ok()) << session.status();
  ChunkHeader header;
  const SharedFloats held = (*session)->NextChunk(kValuePieceElements, &header);
  ASSERT_EQ(held.size(), kValuePieceElements);
  ASSERT_TRUE(PushBlocks(&store, GRADIENT, {{"big", grads}}).ok());
  for (int64_t i = 0; i < held.size(); ++i) ASSERT_EQ(held.data()[i], values[i]) << "element " << i;
  EXPECT_EQ(header.version(), 0);

  int64_t version = -1;
  const std::vector<float> after = ReadBlock(&store, "big", &version);
  ASSERT_EQ(static_cast<int64_t>(after.size()), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(after[i], values[i] - 0.25f) << "element " << i;
  EXPECT_EQ(version, 1);
}

TEST_F(VariableStoreTest, IncompleteDuplicateAndEmptyPushes) {
  CreateAndAssign();
  EXPECT_EQ(store_.StartPush()->Finish().status().message(),
            "empty push: the stream carried no chunk");
  auto session = store_.StartPush();
  ASSERT_TRUE(session->AddChunk(Chunk("w", 0, 6), std::vector<float>{0, 0}).ok());
  EXPECT_EQ(session->Finish().status().message(),
            "push ended with block 'w' incomplete: 2 of 6 elements");
  session = store_.StartPush();
  ASSERT_TRUE(session->AddChunk(Chunk("w", 0, 6), std::vector<float>{0, 0}).ok());
  EXPECT_EQ(session->AddChunk(Chunk("b", 0, 3), std::vector<float>{0, 0, 0}).message(),
            "block 'w' is incomplete: 2 of 6 elements pushed before a chunk of block 'b'");
  session = store_.StartPush();
  ASSERT_TRUE(session->AddChunk(Chunk("b", 0, 3), std::vector<float>{0, 0, 0}).ok());
  EXPECT_EQ(session->AddChunk(Chunk("b", 0, 3), std::vector<float>{0, 0, 0}).message(),
            "block 'b' appears twice in one push");
}

TEST_F(VariableStoreTest, HeaderOnlyPushAdvancesTheGlobalStep) {
  CreateAndAssign();
  auto session = store_.StartPush();
  ChunkHeader header = Chunk("", 0, 0);
  header.set_increment_global_step(true);
  header.set_step(0);
  ASSERT_TRUE(session->AddChunk(header, {}).ok());
  auto response = session->Finish();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->global_step(), 1);
  EXPECT_EQ(response->chunks_applied(), 0);
}

TEST_F(VariableStoreTest, WrongFingerprintAndUnknownBlockOnPull) {
  CreateAndAssign();
  PullRequest pull;
  pull.set_fingerprint("x");
  EXPECT_EQ(store_.StartPull(pull).status().code(), absl::StatusCode::kFailedPrecondition);
  pull.set_fingerprint(kFingerprint);
  pull.add_blocks("w");
  pull.add_blocks("missing");
  EXPECT_EQ(store_.StartPull(pull).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.StartPull(pull).status().message(), "no block named 'missing' on this ps");
}

TEST_F(VariableStoreTest, WorkerDoneCountsWorkers) {
  CreateAndAssign();
  WorkerDoneRequest done;
  done.set_fingerprint(kFingerprint);
  done.set_worker_task(1);
  done.set_last_step(100);
  auto response = store_.WorkerDone(done);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->workers_done(), 1);
  done.set_worker_task(0);
  EXPECT_EQ(store_.WorkerDone(done)->workers_done(), 2);
  EXPECT_TRUE(store_.Summary().workers.at(0).done);
  done.set_worker_task(5);
  EXPECT_EQ(store_.WorkerDone(done).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tessera
