#include "test/in_memory_ps.h"

#include <vector>

#include "common/clock.h"
#include "common/error_kind.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

CreateVariablesRequest OneBlock() {
  CreateVariablesRequest request;
  request.set_fingerprint("fp");
  request.set_num_workers(1);
  request.set_holds_global_step(true);
  BlockSpec* block = request.add_blocks();
  block->set_name("w");
  block->set_variable("w");
  block->mutable_shape()->add_dim(3);
  request.mutable_optimizer()->set_learning_rate(0.5f);
  request.mutable_optimizer()->mutable_sgd();
  return request;
}

absl::Status Assign(PsConnection* ps, const std::vector<float>& values) {
  ChunkHeader fields;
  fields.set_kind(ASSIGN);
  fields.set_fingerprint("fp");
  const std::vector<std::string> names = {"w"};
  const std::vector<absl::Span<const float>> spans = {values};
  return ps->Push(fields, names, spans).status();
}

absl::StatusOr<PsConnection::PullResult> PullW(PsConnection* ps, std::vector<float>* out) {
  PullRequest request;
  request.set_fingerprint("fp");
  request.add_blocks("w");
  out->assign(3, 0);
  const std::vector<absl::Span<float>> destinations = {absl::MakeSpan(*out)};
  return ps->Pull(request, destinations);
}

TEST(InMemoryPsTest, CreatesAssignsPushesAndPullsThroughTheStore) {
  FakeClock clock;
  InMemoryPs ps(0, &clock);
  std::unique_ptr<PsConnection> c = ps.Connect();
  EXPECT_EQ(c->address(), "in-memory:0");
  absl::StatusOr<CreateVariablesResponse> created = c->CreateVariables(OneBlock());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->initialized());
  ASSERT_TRUE(Assign(c.get(), {1, 2, 3}).ok());

  ChunkHeader fields;
  fields.set_kind(GRADIENT);
  fields.set_fingerprint("fp");
  fields.set_increment_global_step(true);
  const std::vector<float> grad = {2, 2, 2};
  const std::vector<std::string> names = {"w"};
  const std::vector<absl::Span<const float>> spans = {grad};
  absl::StatusOr<PushResponse> pushed = c->Push(fields, names, spans);
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->global_step(), 1);

  std::vector<float> w;
  absl::StatusOr<PsConnection::PullResult> pulled = PullW(c.get(), &w);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(w, (std::vector<float>{0, 1, 2}));  // 1,2,3 - 0.5 * 2
  EXPECT_EQ(pulled->global_step, 1);
  EXPECT_EQ(pulled->incarnation, ps.incarnation());
  ASSERT_EQ(pulled->versions.size(), 1u);

  int tensors = 0;
  std::vector<float> copy(3, -1);
  SnapshotRequest request;
  request.set_fingerprint("fp");
  absl::StatusOr<PsConnection::SnapshotResult> snapshot =
      c->Snapshot(request, [&](const std::string& block, const std::string& slot)
                                         -> absl::StatusOr<absl::Span<float>> {
        EXPECT_EQ(block, "w");
        EXPECT_EQ(slot, "");
        ++tensors;
        return absl::MakeSpan(copy);
      });
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->tensors, 1);
  EXPECT_EQ(tensors, 1);
  EXPECT_EQ(copy, w);
  EXPECT_EQ(snapshot->global_step, 1);
}

TEST(InMemoryPsTest, RestartIsANewIncarnationThatIsNotInitialized) {
  FakeClock clock;
  InMemoryPs ps(1, &clock);
  std::unique_ptr<PsConnection> c = ps.Connect();
  ASSERT_TRUE(c->CreateVariables(OneBlock()).ok());
  ASSERT_TRUE(Assign(c.get(), {1, 2, 3}).ok());
  const uint64_t before = ps.incarnation();
  ps.Restart();
  EXPECT_NE(ps.incarnation(), before);
  EXPECT_NE(ps.incarnation(), 0u);

  std::vector<float> w;
  absl::StatusOr<PsConnection::PullResult> pulled = PullW(c.get(), &w);
  EXPECT_EQ(pulled.status().code(), absl::StatusCode::kFailedPrecondition);
  // The store's status, kind included, with the connection's context in front.
  EXPECT_EQ(GetErrorKind(pulled.status()), ErrorKind::kNotInitialized);
  EXPECT_EQ(pulled.status().message(),
            std::string("Pull to ps 1 at in-memory:1: ") + kNotInitializedMessage);

  absl::StatusOr<CreateVariablesResponse> created = c->CreateVariables(OneBlock());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->initialized());
  EXPECT_EQ(created->incarnation(), ps.incarnation());
}

TEST(InMemoryPsTest, UnavailableRefusesEveryCallUntilAvailableAgain) {
  FakeClock clock;
  InMemoryPs ps(0, &clock);
  std::unique_ptr<PsConnection> c = ps.Connect();
  ps.SetUnavailable(true);
  absl::StatusOr<CreateVariablesResponse> created = c->CreateVariables(OneBlock());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(created.status().message(),
            "CreateVariables to ps 0 at in-memory:0: ps is down (simulated)");
  EXPECT_EQ(ps.calls(), 0);
  ps.SetUnavailable(false);
  EXPECT_TRUE(c->CreateVariables(OneBlock()).ok());
  EXPECT_EQ(ps.calls(), 1);
}

TEST(InMemoryPsTest, PullNeedsOneDestinationPerBlock) {
  InMemoryPs ps(0, nullptr);
  std::unique_ptr<PsConnection> c = ps.Connect();
  PullRequest request;
  request.add_blocks("w");
  EXPECT_EQ(c->Pull(request, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tessera
