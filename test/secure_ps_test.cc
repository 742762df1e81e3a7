// The ps's job-token check on every kind of call it serves: its callback
// reactors (Pull and Snapshot server streams, the Push client stream, the
// unary CreateVariables and WorkerDone) and Admin. In-process PsServer on
// port 0 with mutual TLS and a token; a real PsClient with the job's
// material, and intruders with the job's certificate but no token or a wrong
// one. A refused call never reaches a handler: the ps's request count and
// its variables do not move, and the legitimate client keeps being served.

#include <memory>
#include <string>
#include <vector>

#include "common/rpc/security_config.h"
#include "common/rpc/test_certs.h"
#include "gtest/gtest.h"
#include "ps/ps_server.h"
#include "worker/ps_client.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "0123456789abcdef";

CreateVariablesRequest Model() {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(1);
  request.set_holds_global_step(true);
  request.mutable_optimizer()->set_learning_rate(1.0f);
  request.mutable_optimizer()->mutable_sgd();
  BlockSpec* bias = request.add_blocks();
  bias->set_name("fc/bias");
  bias->mutable_shape()->add_dim(4);
  return request;
}

ChunkHeader Fields(ChunkKind kind) {
  ChunkHeader fields;
  fields.set_kind(kind);
  fields.set_fingerprint(kFingerprint);
  fields.set_worker_task(0);
  return fields;
}

class SecurePsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestCerts> certs = MakeTestCerts(testing::TempDir() + "/secure_ps_certs");
    ASSERT_TRUE(certs.ok()) << certs.status();
    job_.ca_pem = certs->ca_pem;
    job_.cert_pem = certs->cert_pem;
    job_.key_pem = certs->key_pem;
    job_.token = "a-job-token-of-32-characters-abc";
    PsServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.security = job_;
    auto server = PsServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    worker_ = Client(job_);
  }

  std::unique_ptr<PsConnection> Client(const SecurityConfig& security) {
    PsClientOptions options;
    options.unavailable_timeout = absl::Seconds(10);
    options.rpc_timeout = absl::Seconds(30);
    options.security = security;
    return *NewPsClient("localhost:" + std::to_string(server_->port()), options);
  }

  absl::StatusOr<PsConnection::PullResult> Pull(PsConnection* client, std::vector<float>* values) {
    values->assign(4, -1.0f);
    PullRequest request;
    request.set_fingerprint(kFingerprint);
    request.add_blocks("fc/bias");
    return client->Pull(request, {absl::MakeSpan(*values)});
  }

  // Every RPC of the ps from `intruder`: each is UNAUTHENTICATED with `why`.
  void ExpectEveryCallRefused(PsConnection* intruder, const std::string& why) {
    const int64_t requests = server_->requests();
    const std::string message =
        why + ": this server requires the job's token (--token_file or --security_dir; "
              "docs/security.md)";
    auto created = intruder->CreateVariables(Model());
    EXPECT_EQ(created.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_NE(created.status().message().find(message), std::string::npos)
        << created.status().message();
    std::vector<float> values;
    EXPECT_EQ(Pull(intruder, &values).status().code(), absl::StatusCode::kUnauthenticated);
    const std::vector<float> gradient = {100, 100, 100, 100};
    EXPECT_EQ(intruder->Push(Fields(GRADIENT), {"fc/bias"}, {gradient}).status().code(),
              absl::StatusCode::kUnauthenticated);
    SnapshotRequest snapshot;
    snapshot.set_fingerprint(kFingerprint);
    auto snapshotted = intruder->Snapshot(
        snapshot, [](const std::string&, const std::string&) -> absl::StatusOr<absl::Span<float>> {
          return absl::InternalError("no chunk may arrive");
        });
    EXPECT_EQ(snapshotted.status().code(), absl::StatusCode::kUnauthenticated);
    WorkerDoneRequest done;
    done.set_worker_task(0);
    EXPECT_EQ(intruder->WorkerDone(done).status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(server_->requests(), requests) << "a refused call reached a handler";
  }

  SecurityConfig job_;
  std::unique_ptr<PsServer> server_;
  std::unique_ptr<PsConnection> worker_;
};

TEST_F(SecurePsTest, EveryRpcNeedsTheTokenAndTheWorkerIsServedThroughout) {
  ASSERT_TRUE(worker_->CreateVariables(Model()).ok());
  const std::vector<float> initial = {1, 2, 3, 4};
  ASSERT_TRUE(worker_->Push(Fields(ASSIGN), {"fc/bias"}, {initial}).ok());

  SecurityConfig no_token = job_;
  no_token.token.clear();
  ExpectEveryCallRefused(Client(no_token).get(), "missing job token");
  SecurityConfig wrong_token = job_;
  wrong_token.token = "not-the-job-token-but-32-chars-x";
  ExpectEveryCallRefused(Client(wrong_token).get(), "wrong job token");

  // The intruders changed nothing, and the worker trains on.
  std::vector<float> values;
  ASSERT_TRUE(Pull(worker_.get(), &values).ok());
  EXPECT_EQ(values, initial);
  const std::vector<float> gradient = {1, 1, 1, 1};
  ASSERT_TRUE(worker_->Push(Fields(GRADIENT), {"fc/bias"}, {gradient}).ok());
  ASSERT_TRUE(Pull(worker_.get(), &values).ok());
  EXPECT_EQ(values, (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(server_->Status().security(), "mtls+token");
}

}  // namespace
}  // namespace tessera
