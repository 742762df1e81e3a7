// Waiting Pulls over real gRPC (SYNC): the Pull stream starts when the step
// completes, ends with DEADLINE_EXCEEDED naming the missing worker at the
// sync timeout (fake clock), and a client that gives up withdraws its wait
// (its error names the RPC and the deadline it ran out of).

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "ps/ps_server.h"
#include "worker/ps_client.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "0123456789abcdef";

class SyncServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PsServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.clock = &clock_;
    auto server = PsServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    CreateVariablesRequest request;
    request.set_fingerprint(kFingerprint);
    request.set_num_workers(2);
    request.set_holds_global_step(true);
    request.set_update_mode(SYNC);
    request.mutable_optimizer()->set_learning_rate(1.0f);
    request.mutable_optimizer()->mutable_sgd();
    BlockSpec* w = request.add_blocks();
    w->set_name("w");
    w->mutable_shape()->add_dim(2);
    client_ = NewClient(absl::Seconds(120));
    ASSERT_TRUE(client_->CreateVariables(request).ok());
    ASSERT_TRUE(Push(ASSIGN, 0, {10, 20}).ok());
  }

  std::unique_ptr<PsConnection> NewClient(absl::Duration rpc_timeout) {
    PsClientOptions options;
    options.rpc_timeout = rpc_timeout;
    options.unavailable_timeout = absl::Seconds(10);
    return *NewPsClient("127.0.0.1:" + std::to_string(server_->port()), options);
  }

  absl::StatusOr<PushResponse> Push(ChunkKind kind, int worker, std::vector<float> values) {
    ChunkHeader fields;
    fields.set_kind(kind);
    fields.set_fingerprint(kFingerprint);
    fields.set_worker_task(worker);
    fields.set_increment_global_step(true);
    const std::vector<std::string> names = {"w"};
    return client_->Push(fields, names, {absl::MakeConstSpan(values)});
  }

  // Pulls "w" as worker 0 with `min_version` on its own thread.
  void StartPull(PsConnection* client, int64_t min_version) {
    puller_ = std::thread([this, client, min_version] {
      PullRequest request;
      request.set_fingerprint(kFingerprint);
      request.set_worker_task(0);
      request.set_min_version(min_version);
      request.add_blocks("w");
      pulled_.assign(2, -1);
      result_ = client->Pull(request, {absl::MakeSpan(pulled_)});
    });
  }

  // Until status says `waiting` or not (a hang detector bounds it).
  void AwaitWaiting(bool waiting) {
    for (int i = 0; i < 6000; ++i) {
      if (server_->Status().waiting_for().empty() != waiting) return;
      absl::SleepFor(absl::Milliseconds(10));
    }
    FAIL() << "status never showed waiting = " << waiting;
  }

  FakeClock clock_;
  std::unique_ptr<PsServer> server_;
  std::unique_ptr<PsConnection> client_;
  std::thread puller_;
  std::vector<float> pulled_;
  absl::StatusOr<PsConnection::PullResult> result_ = absl::UnknownError("not pulled");
};

TEST_F(SyncServiceTest, PullStreamsWhenTheStepCompletes) {
  auto waiting_client = NewClient(absl::Seconds(120));
  StartPull(waiting_client.get(), 1);
  AwaitWaiting(true);
  EXPECT_TRUE(absl::StrContains(server_->Status().waiting_for(), "1 waiting pull(s): SYNC step 0"))
      << server_->Status().waiting_for();
  ASSERT_TRUE(Push(GRADIENT, 0, {2, 2}).ok());
  ASSERT_TRUE(Push(GRADIENT, 1, {4, 6}).ok());
  puller_.join();
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ(result_->versions, std::vector<int64_t>{1});
  EXPECT_EQ(result_->global_step, 1);
  EXPECT_EQ(pulled_, (std::vector<float>{7, 16}));
  EXPECT_EQ(server_->Status().waiting_for(), "");
}

TEST_F(SyncServiceTest, TimeoutNamesTheMissingWorker) {
  auto waiting_client = NewClient(absl::Seconds(120));
  ASSERT_TRUE(Push(GRADIENT, 0, {2, 2}).ok());
  StartPull(waiting_client.get(), 1);
  AwaitWaiting(true);
  clock_.Advance(absl::Seconds(300));  // the default sync_timeout_secs
  puller_.join();
  EXPECT_EQ(result_.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(result_.status().message(),
                                "SYNC step 0 did not complete within 5m (sync_timeout_secs): the "
                                "global step has gradients from workers 0 (1 of 2 needed); none "
                                "yet from worker 1 (step 0, no push yet, missing: silent for "))
      << result_.status();  // The ps's own DEADLINE_EXCEEDED, not the client's deadline.
  EXPECT_FALSE(absl::StrContains(result_.status().message(), "no answer within"))
      << result_.status();
}

TEST_F(SyncServiceTest, ClientThatGivesUpWithdrawsItsWait) {
  auto impatient = NewClient(absl::Seconds(1));
  StartPull(impatient.get(), 1);
  AwaitWaiting(true);  // the server holds it...
  puller_.join();      // ...until the client's deadline
  EXPECT_EQ(result_.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result_.status().message(),
            "Pull to ps 0 at 127.0.0.1:" + std::to_string(server_->port()) +
                ": no answer within its deadline of 1s (rpc_timeout_secs): Deadline Exceeded");
  AwaitWaiting(false);
  EXPECT_EQ(server_->Status().waiting_for(), "");
}

}  // namespace
}  // namespace tessera
