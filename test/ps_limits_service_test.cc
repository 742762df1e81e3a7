// The ps's limits (docs/security.md, "Limits") over real gRPC on loopback:
// an in-process PsServer on port 0, bad clients (a 1 TB variable, too many or
// too large blocks, thousands of open streams) and a legitimate worker (a
// real PsClient) that keeps training throughout. Each refusal must be
// RESOURCE_EXHAUSTED naming the flag, the value asked and the limit.

#include <atomic>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "protos/ps_service.grpc.pb.h"
#include "ps/ps_server.h"
#include "worker/ps_client.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "0123456789abcdef";

CreateVariablesRequest Model() {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(2);
  request.set_holds_global_step(true);
  request.mutable_optimizer()->set_learning_rate(1.0f);
  request.mutable_optimizer()->mutable_sgd();
  BlockSpec* bias = request.add_blocks();
  bias->set_name("fc/bias");
  bias->mutable_shape()->add_dim(4);
  return request;
}

ChunkHeader Fields(ChunkKind kind, int worker_task = 0) {
  ChunkHeader fields;
  fields.set_kind(kind);
  fields.set_fingerprint(kFingerprint);
  fields.set_worker_task(worker_task);
  return fields;
}

// The kB value of `key` ("VmHWM") in /proc/self/status, in bytes.
int64_t ProcStatusBytes(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, key + ":")) continue;
    int64_t kib = 0;
    std::string number = line.substr(key.size() + 1);
    number = number.substr(0, number.find("kB"));
    if (absl::SimpleAtoi(number, &kib)) return kib * 1024;
  }
  ADD_FAILURE() << "no " << key << " in /proc/self/status";
  return 0;
}

std::unique_ptr<PsServer> StartPs(const PsLimits& limits,
                                  const std::string& listen = "127.0.0.1:0") {
  PsServerOptions options;
  options.listen_address = listen;
  options.limits = limits;
  auto server = PsServer::Create(options);
  if (!server.ok()) {
    ADD_FAILURE() << server.status();
    return nullptr;
  }
  return std::move(*server);
}

std::unique_ptr<PsConnection> Client(const std::string& address, int ps_task = 0) {
  PsClientOptions options;
  options.unavailable_timeout = absl::Seconds(10);
  options.rpc_timeout = absl::Seconds(30);
  options.ps_task = ps_task;
  return *NewPsClient(address, options);
}

absl::StatusOr<PsConnection::PullResult> Pull(PsConnection* client, std::vector<float>* values) {
  values->assign(4, -1.0f);
  PullRequest request;
  request.set_fingerprint(kFingerprint);
  request.add_blocks("fc/bias");
  return client->Pull(request, {absl::MakeSpan(*values)});
}

// One training step of a legitimate worker: push a gradient of ones, pull
// the values back. OK, or the first error.
absl::Status TrainStep(PsConnection* worker, std::vector<float>* values) {
  const std::vector<float> ones(4, 1.0f);
  absl::Status pushed = worker->Push(Fields(GRADIENT), {"fc/bias"}, {ones}).status();
  if (!pushed.ok()) return pushed;
  return Pull(worker, values).status();
}

// Creates the model through `chief` and assigns 10, 20, 30, 40.
void CreateModel(PsConnection* chief) {
  auto created = chief->CreateVariables(Model());
  ASSERT_TRUE(created.ok()) << created.status();
  const std::vector<float> initial = {10, 20, 30, 40};
  auto assigned = chief->Push(Fields(ASSIGN), {"fc/bias"}, {initial});
  ASSERT_TRUE(assigned.ok()) << assigned.status();
}

TEST(PsLimitsServiceTest, ATerabyteVariableIsRefusedUnallocatedAndTheChiefThenTrains) {
  PsLimits limits;
  limits.max_bytes_held = int64_t{1} << 30;
  std::unique_ptr<PsServer> server = StartPs(limits);
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  std::unique_ptr<PsConnection> bad = Client(address);

  CreateVariablesRequest huge = Model();
  huge.clear_blocks();
  BlockSpec* block = huge.add_blocks();
  block->set_name("huge");
  block->mutable_shape()->add_dim(int64_t{1} << 28);
  block->mutable_shape()->add_dim(1024);  // 2^38 floats: 1 TiB

  const int64_t peak_before = ProcStatusBytes("VmHWM");
  auto refused = bad->CreateVariables(huge);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "CreateVariables to ps 0 at " + address +
                ": CreateVariables needs 1099511627776 bytes (values, optimizer slots and SYNC "
                "buffers of 1 blocks; the largest, 'huge' of shape [268435456, 1024], "
                "1099511627776 bytes); --max_bytes_held is 1073741824 and 0 bytes are held");
  // Nothing was allocated for it: the peak resident size barely moved.
  EXPECT_LT(ProcStatusBytes("VmHWM") - peak_before, int64_t{64} << 20);
  StatusResponse status = server->Status();
  EXPECT_EQ(status.num_blocks(), 0);
  EXPECT_EQ(status.bytes_held(), 0);
  EXPECT_EQ(status.state(), "waiting_for_chief");
  EXPECT_EQ(status.limits().refused(), 1);
  EXPECT_EQ(status.limits().max_bytes_held(), int64_t{1} << 30);
  EXPECT_TRUE(absl::StrContains(status.last_error(), "--max_bytes_held is 1073741824"))
      << status.last_error();

  // The legitimate chief creates the model and trains on.
  std::unique_ptr<PsConnection> chief = Client(address);
  CreateModel(chief.get());
  std::vector<float> values;
  ASSERT_TRUE(TrainStep(chief.get(), &values).ok());
  EXPECT_EQ(values, (std::vector<float>{9, 19, 29, 39}));
  status = server->Status();
  EXPECT_EQ(status.num_blocks(), 1);
  EXPECT_EQ(status.bytes_held(), 16);
}

TEST(PsLimitsServiceTest, TooManyBlocksAndATooLargeBlockAreRefusedAndTheLimitsThemselvesFit) {
  PsLimits limits;
  limits.max_blocks = 100;
  limits.max_block_bytes = 1 << 20;
  std::unique_ptr<PsServer> server = StartPs(limits);
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  std::unique_ptr<PsConnection> client = Client(address, 3);

  CreateVariablesRequest many = Model();
  for (int i = 1; i <= 100; ++i) {
    BlockSpec* block = many.add_blocks();
    block->set_name(absl::StrCat("b", i));
    block->mutable_shape()->add_dim(1);
  }
  auto refused = client->CreateVariables(many);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "CreateVariables to ps 3 at " + address +
                ": CreateVariables asks for 101 blocks; --max_blocks is 100 and 0 blocks are held");

  CreateVariablesRequest large = Model();
  BlockSpec* big = large.add_blocks();
  big->set_name("fc/weights");
  big->mutable_shape()->add_dim(1025);
  big->mutable_shape()->add_dim(256);  // 1 MiB + 1 KiB of values
  refused = client->CreateVariables(large);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "CreateVariables to ps 3 at " + address +
                ": CreateVariables: block 'fc/weights' of shape [1025, 256] has 1049600 bytes of "
                "values; --max_block_bytes is 1048576");
  EXPECT_EQ(server->Status().num_blocks(), 0);

  // Exactly at both limits: 100 blocks, one of them 1 MiB.
  many.mutable_blocks()->DeleteSubrange(99, 2);
  BlockSpec* at_limit = many.add_blocks();
  at_limit->set_name("fc/weights");
  at_limit->mutable_shape()->add_dim(1024);
  at_limit->mutable_shape()->add_dim(256);
  ASSERT_EQ(many.blocks_size(), 100);
  auto created = client->CreateVariables(many);
  ASSERT_TRUE(created.ok()) << created.status();
  const StatusResponse status = server->Status();
  EXPECT_EQ(status.num_blocks(), 100);
  EXPECT_EQ(status.limits().refused(), 2);
  EXPECT_EQ(status.limits().max_blocks(), 100);
  EXPECT_EQ(status.limits().max_block_bytes(), 1 << 20);
}

// How the hog's streams ended.
class Tally {
 public:
  void Done(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    ++done_;
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++refused_;
      refusal_ = status.error_message();
    }
  }
  // Waits at most `timeout` until `n` streams ended; returns how many did.
  int WaitForDone(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    want_ = n;
    mu_.AwaitWithTimeout(absl::Condition(this, &Tally::Reached), timeout);
    return done_;
  }
  int refused() {
    absl::MutexLock lock(&mu_);
    return refused_;
  }
  std::string refusal() {
    absl::MutexLock lock(&mu_);
    return refusal_;
  }

 private:
  bool Reached() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ >= want_; }

  absl::Mutex mu_;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
  int want_ ABSL_GUARDED_BY(mu_) = 0;
  int refused_ ABSL_GUARDED_BY(mu_) = 0;
  std::string refusal_ ABSL_GUARDED_BY(mu_);
};

// A Push stream that sends nothing and stays open until cancelled or closed:
// one of the hog's.
class HeldPush final : public grpc::ClientWriteReactor<TensorChunk> {
 public:
  HeldPush(ParameterServer::Stub* stub, Tally* tally) : tally_(tally) {
    stub->async()->Push(&context_, &response_, this);
    StartCall();
  }
  bool done() const { return done_; }
  void Cancel() { context_.TryCancel(); }
  // Ends the request stream as a client does after its last chunk; only
  // while the call is not done.
  void Close() { StartWritesDone(); }
  void OnDone(const grpc::Status& status) override {
    done_ = true;
    tally_->Done(status);
  }

 private:
  Tally* const tally_;
  grpc::ClientContext context_;
  PushResponse response_;
  std::atomic<bool> done_{false};
};

// Opens `n` Push streams at once from one channel to `address`; those the ps
// admits stay open until Release.
class Hog {
 public:
  Hog(const std::string& address, int n)
      : stub_(ParameterServer::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {
    for (int i = 0; i < n; ++i) {
      streams_.push_back(std::make_unique<HeldPush>(stub_.get(), &tally_));
    }
  }
  ~Hog() {
    for (auto& stream : streams_) stream->Cancel();
    tally_.WaitForDone(static_cast<int>(streams_.size()), absl::Seconds(30));
  }
  // Waits until every stream but `held` ended (the refused ones); returns
  // whether they did within 60 s.
  bool WaitForRefusals(int held) {
    const int n = static_cast<int>(streams_.size()) - held;
    return tally_.WaitForDone(n, absl::Seconds(60)) == n;
  }
  // Ends the streams still open: every other one cancelled (an aborted
  // stream), the rest closed as a client does; waits for them.
  bool Release() {
    bool cancel = true;
    for (auto& stream : streams_) {
      if (stream->done()) continue;
      if (cancel) {
        stream->Cancel();
      } else {
        stream->Close();
      }
      cancel = !cancel;
    }
    const int n = static_cast<int>(streams_.size());
    return tally_.WaitForDone(n, absl::Seconds(30)) == n;
  }
  Tally& tally() { return tally_; }

 private:
  std::unique_ptr<ParameterServer::Stub> stub_;
  Tally tally_;
  std::vector<std::unique_ptr<HeldPush>> streams_;
};

// Polls the ps's status until `open` streams are open, at most 10 s.
bool WaitForOpenStreams(PsServer* server, int64_t open) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (server->Status().limits().open_streams() != open) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// A hog on this host opens 2000 Push streams; with --max_streams_per_peer=8
// eight stay open and the rest are refused. A worker on the same host shares
// the hog's budget and is refused too, naming the flag; once the hog's
// streams end (cancelled or closed) their slots are free and the worker trains.
TEST(PsLimitsServiceTest, AHogsThousandsOfStreamsAreRefusedOverTheCapAndReleasedWhenTheyEnd) {
  PsLimits limits;
  limits.max_streams_per_peer = 8;
  std::unique_ptr<PsServer> server = StartPs(limits);
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  std::unique_ptr<PsConnection> worker = Client(address);
  CreateModel(worker.get());

  constexpr int kStreams = 2000;
  auto hog = std::make_unique<Hog>(address, kStreams);
  ASSERT_TRUE(hog->WaitForRefusals(8)) << hog->tally().refused() << " refused";
  EXPECT_EQ(hog->tally().refused(), kStreams - 8);
  EXPECT_EQ(hog->tally().refusal(),
            "too many open streams from ipv4:127.0.0.1: this Push would make 9 open Pull, Push "
            "and Snapshot streams; --max_streams_per_peer is 8");
  StatusResponse status = server->Status();
  EXPECT_EQ(status.limits().open_streams(), 8);
  EXPECT_EQ(status.limits().busiest_peer(), "ipv4:127.0.0.1");
  EXPECT_EQ(status.limits().busiest_peer_streams(), 8);
  EXPECT_EQ(status.limits().max_streams_per_peer(), 8);
  EXPECT_EQ(status.limits().refused(), kStreams - 8);

  // Same host, same budget: the worker's Pull, Push and Snapshot are refused.
  std::vector<float> values;
  absl::Status pulled = Pull(worker.get(), &values).status();
  EXPECT_EQ(pulled.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pulled.message(),
            "Pull to ps 0 at " + address +
                ": too many open streams from ipv4:127.0.0.1: this Pull would make 9 open Pull, "
                "Push and Snapshot streams; --max_streams_per_peer is 8");
  const std::vector<float> ones(4, 1.0f);
  EXPECT_EQ(worker->Push(Fields(GRADIENT), {"fc/bias"}, {ones}).status().code(),
            absl::StatusCode::kResourceExhausted);
  SnapshotRequest snapshot;
  snapshot.set_fingerprint(kFingerprint);
  auto snapshotted = worker->Snapshot(
      snapshot, [](const std::string&, const std::string&) -> absl::StatusOr<absl::Span<float>> {
        return absl::InternalError("no chunk may arrive");
      });
  EXPECT_EQ(snapshotted.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(server->Status().limits().open_streams(), 8);

  // The hog's streams end, half cancelled and half closed: every slot comes back.
  ASSERT_TRUE(hog->Release());
  ASSERT_TRUE(WaitForOpenStreams(server.get(), 0))
      << server->Status().limits().open_streams() << " streams still counted";
  EXPECT_EQ(server->Status().limits().busiest_peer(), "");
  ASSERT_TRUE(TrainStep(worker.get(), &values).ok());
  EXPECT_EQ(values, (std::vector<float>{9, 19, 29, 39}));
  hog.reset();
}

// A worker's streams follow one another: the ps frees each one's slot before
// the worker sees it end, so even with a cap of 1 a worker pushing and
// pulling back to back is never refused (were slots freed only when gRPC is
// done with the call, a fast worker's finished streams would pile up).
TEST(PsLimitsServiceTest, AWorkersBackToBackStreamsNeverPileUp) {
  PsLimits limits;
  limits.max_streams_per_peer = 1;
  std::unique_ptr<PsServer> server = StartPs(limits);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<PsConnection> worker = Client(absl::StrCat("127.0.0.1:", server->port()));
  CreateModel(worker.get());
  std::vector<float> values;
  for (int step = 1; step <= 500; ++step) {
    absl::Status trained = TrainStep(worker.get(), &values);
    ASSERT_TRUE(trained.ok()) << "step " << step << ": " << trained;
  }
  EXPECT_EQ(values, (std::vector<float>{-490, -480, -470, -460}));
  EXPECT_EQ(server->Status().limits().refused(), 0);
}

// With the default cap (64), a hog opening 2000 streams over IPv4 loopback
// cannot stop a worker that reaches the ps from another address (IPv6
// loopback): it trains while the hog holds its 64 streams.
TEST(PsLimitsServiceTest, AWorkerOnAnotherHostTrainsWhileAHogHoldsItsStreams) {
  std::ifstream v6only("/proc/sys/net/ipv6/bindv6only");
  std::string value;
  if (!(v6only >> value) || value != "0") {
    GTEST_SKIP() << "needs dual-stack IPv6 (net.ipv6.bindv6only=0) for a second client address";
  }
  std::unique_ptr<PsServer> server = StartPs(PsLimits(), "[::]:0");
  ASSERT_NE(server, nullptr);
  const std::string v4 = absl::StrCat("127.0.0.1:", server->port());
  const std::string v6 = absl::StrCat("[::1]:", server->port());
  std::unique_ptr<PsConnection> worker = Client(v6);
  CreateModel(worker.get());

  Hog hog(v4, 2000);
  ASSERT_TRUE(hog.WaitForRefusals(kDefaultMaxStreamsPerPeer)) << hog.tally().refused();
  EXPECT_EQ(hog.tally().refused(), 2000 - kDefaultMaxStreamsPerPeer);
  EXPECT_TRUE(absl::StrContains(hog.tally().refusal(), "--max_streams_per_peer is 64"))
      << hog.tally().refusal();
  std::vector<float> values;
  for (int step = 1; step <= 3; ++step) {
    ASSERT_TRUE(TrainStep(worker.get(), &values).ok()) << "step " << step;
  }
  EXPECT_EQ(values, (std::vector<float>{7, 17, 27, 37}));
  // The worker's streams were given back before it saw them end.
  const StatusResponse status = server->Status();
  EXPECT_EQ(status.limits().open_streams(), kDefaultMaxStreamsPerPeer);
  EXPECT_EQ(status.limits().busiest_peer_streams(), kDefaultMaxStreamsPerPeer);
  EXPECT_FALSE(absl::StrContains(status.limits().busiest_peer(), "::1"))
      << status.limits().busiest_peer();
}

TEST(PsLimitsServiceTest, InvalidLimitsAreRefusedAtCreateNamingTheFlag) {
  PsServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.limits.max_streams_per_peer = 0;
  auto server = PsServer::Create(options);
  EXPECT_EQ(server.status(),
            absl::InvalidArgumentError("--max_streams_per_peer must be >= 1, got 0"));
}

}  // namespace
}  // namespace tessera
