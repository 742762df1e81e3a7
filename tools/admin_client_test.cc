// The gRPC ClusterAdmin and the commands against an in-process fake Admin
// server on port 0, with a cluster file whose ps points at a closed port.

#include "common/admin/admin_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/cluster/cluster_spec.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/server_posix.h"
#include "gtest/gtest.h"
#include "protos/admin.grpc.pb.h"
#include "tools/ctl_commands.h"

namespace tessera {
namespace {

using ::testing::HasSubstr;

// Answers GetStatus as worker 0 in state "training" (after `delay`), and
// records Shutdown reasons. Thread-safe.
class FakeAdmin final : public Admin::Service {
 public:
  explicit FakeAdmin(absl::Duration delay = absl::ZeroDuration()) : delay_(delay) {}

  grpc::Status GetStatus(grpc::ServerContext*, const StatusRequest*,
                         StatusResponse* response) override {
    absl::SleepFor(delay_);
    response->set_job("worker");
    response->set_task(0);
    response->set_state("training");
    response->set_global_step(42);
    response->set_local_steps(40);
    response->set_images_per_sec(123.4);
    return grpc::Status::OK;
  }

  grpc::Status Shutdown(grpc::ServerContext*, const ShutdownRequest* request,
                        ShutdownResponse*) override {
    absl::MutexLock lock(&mu_);
    reasons_.push_back(request->reason());
    return grpc::Status::OK;
  }

  std::vector<std::string> reasons() {
    absl::MutexLock lock(&mu_);
    return reasons_;
  }

 private:
  const absl::Duration delay_;
  absl::Mutex mu_;
  std::vector<std::string> reasons_ ABSL_GUARDED_BY(mu_);
};

// A port on 127.0.0.1 nothing listens on: bound, read back, closed.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

class AdminClientTest : public ::testing::Test {
 protected:
  void StartServer(absl::Duration delay = absl::ZeroDuration()) {
    service_ = std::make_unique<FakeAdmin>(delay);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    closed_port_ = ClosedPort();
    worker_address_ = absl::StrCat("127.0.0.1:", port_);
    ps_address_ = absl::StrCat("127.0.0.1:", closed_port_);
    std::string path = ::testing::TempDir() + "cluster.json";
    std::ofstream(path) << "{\"cluster\": {\"ps\": [\"" << ps_address_ << "\"], \"worker\": [\""
                        << worker_address_ << "\"]}}";
    auto cluster = ClusterSpec::FromFile(path);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    auto tasks = SelectTasks(*cluster, "");
    ASSERT_TRUE(tasks.ok());
    tasks_ = *tasks;
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  std::unique_ptr<FakeAdmin> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  int closed_port_ = 0;
  std::string worker_address_, ps_address_;
  std::vector<TaskTarget> tasks_;  // ps:0 (closed port), worker:0 (the fake)
  std::unique_ptr<ClusterAdmin> admin_ = NewGrpcClusterAdmin();
};

TEST_F(AdminClientTest, StatusReachableAndUnreachable) {
  StartServer();
  std::vector<TaskStatus> statuses = admin_->GetStatuses(tasks_, absl::Seconds(2));
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[0].rpc_status.code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(statuses[1].reachable()) << statuses[1].rpc_status;
  EXPECT_EQ(statuses[1].response.global_step(), 42);

  std::ostringstream out;
  absl::Status status = RunStatus(*admin_, tasks_, absl::Seconds(2), false, out);
  EXPECT_EQ(status, absl::UnavailableError(absl::StrCat(
                        "1 of 2 task(s) did not answer: ps:0 at ", ps_address_)));
  std::string table = out.str();
  EXPECT_THAT(table, HasSubstr(absl::StrCat("ps      0     ", ps_address_)));
  EXPECT_THAT(table, HasSubstr("unreachable"));
  EXPECT_THAT(table, HasSubstr("UNAVAILABLE: "));
  EXPECT_THAT(table, HasSubstr(absl::StrCat("worker  0     ", worker_address_)));
  EXPECT_THAT(table, HasSubstr("training     -         42    40     123.4"));
}

// The slow task answers after 4 s; the call returns at its 200 ms deadline,
// well before (the bound leaves room for ASan on a loaded machine).
TEST_F(AdminClientTest, DeadlineBoundsASlowTask) {
  StartServer(absl::Seconds(4));
  absl::Time start = absl::Now();
  std::vector<TaskStatus> statuses = admin_->GetStatuses(tasks_, absl::Milliseconds(200));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(statuses[1].rpc_status.code(), absl::StatusCode::kDeadlineExceeded);
}

// A task slow to take a new connection (here: accepted and handed to the
// server 1 s after the client connected, as a busy daemon on a loaded
// machine may be) answers within the call's timeout. Found by
// test/overload.py: the connection attempt was given up after gRPC's minimum
// connect timeout, then 200 ms, and `tessera_ctl status` showed live tasks
// "unreachable: UNAVAILABLE: ... connection attempt timed out before
// receiving SETTINGS frame" well within its 2 s.
TEST_F(AdminClientTest, ASlowNewConnectionIsGivenTheCallsTimeout) {
  StartServer();
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 8), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::thread slow_accept([this, listener] {
    absl::SleepFor(absl::Seconds(1));  // the kernel completed the TCP handshake
    // Non-blocking, as gRPC's endpoints expect: on a blocking socket a read
    // with no data waiting blocked a server thread in recvmsg for good, and
    // the server's shutdown waited for it (2 of 40 runs hung in TearDown).
    int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) grpc::AddInsecureChannelFromFd(server_.get(), fd);
  });
  const TaskTarget slow{{kWorkerJob, 1}, absl::StrCat("127.0.0.1:", ntohs(addr.sin_port))};
  std::vector<TaskStatus> statuses = admin_->GetStatuses({slow}, absl::Seconds(20));
  slow_accept.join();
  close(listener);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_TRUE(statuses[0].reachable()) << statuses[0].rpc_status;
  EXPECT_EQ(statuses[0].response.global_step(), 42);
}

TEST_F(AdminClientTest, WaitReadyTimesOutNamingTheClosedPort) {
  StartServer();
  WaitOptions options;
  options.timeout = absl::Seconds(1);
  std::ostringstream out;
  absl::Time start = absl::Now();
  absl::Status status = RunWait(*admin_, RealClock::Get(), tasks_, options, out);
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat("timed out after 1s waiting for 1 of 2 task(s) to be ready "
                                     "(answering): ps:0 at ",
                                     ps_address_, " (unreachable: UNAVAILABLE: ")));
  // Returns at its timeout, not never (the upper bound leaves room for ASan on
  // a loaded machine; the suite has no timing thresholds tighter than that).
  EXPECT_GE(took, absl::Seconds(1));
  EXPECT_LT(took, absl::Seconds(10));
  EXPECT_THAT(out.str(), HasSubstr(absl::StrCat("waiting for ps:0 at ", ps_address_)));

  std::vector<TaskTarget> workers = {tasks_[1]};
  std::ostringstream ready;
  EXPECT_TRUE(RunWait(*admin_, RealClock::Get(), workers, options, ready).ok());
  EXPECT_THAT(ready.str(), HasSubstr("all 1 task(s) ready (answering)"));
}

TEST_F(AdminClientTest, ShutdownReachesTheFake) {
  StartServer();
  std::ostringstream out;
  EXPECT_TRUE(RunShutdown(*admin_, tasks_, "test reason", absl::Seconds(2), out).ok());
  EXPECT_THAT(service_->reasons(), ::testing::ElementsAre("test reason"));
  EXPECT_THAT(out.str(), HasSubstr(absl::StrCat("worker:0 at ", worker_address_,
                                                ": shutting down\n")));
  EXPECT_THAT(out.str(), HasSubstr(absl::StrCat("ps:0 at ", ps_address_, ": not running (")));
}

}  // namespace
}  // namespace tessera
