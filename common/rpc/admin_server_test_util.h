#ifndef TESSERA_COMMON_RPC_ADMIN_SERVER_TEST_UTIL_H_
#define TESSERA_COMMON_RPC_ADMIN_SERVER_TEST_UTIL_H_

// A test fixture for the transport's security (security_test.cc,
// local_socket_test.cc): an Admin service whose status says job "ps", the
// server a test starts for it (shut down at the end), and one GetStatus call
// through a channel of NewChannel.

#include <chrono>
#include <memory>
#include <string>

#include "common/admin/admin_service.h"
#include "common/rpc/channel.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "protos/admin.grpc.pb.h"

namespace tessera {

class AdminServerTest : public testing::Test {
 protected:
  AdminServerTest()
      : admin_(
            [] {
              StatusResponse status;
              status.set_job("ps");
              return status;
            },
            [](const std::string&) {}) {}
  ~AdminServerTest() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // GetStatus on `address` through NewChannel(address, options), within 20 s;
  // an answer must say job "ps" (a failed EXPECT otherwise).
  static grpc::Status CallStatus(const std::string& address, const ChannelOptions& options) {
    auto stub = Admin::NewStub(NewChannel(address, options));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    StatusResponse response;
    grpc::Status status = stub->GetStatus(&context, StatusRequest(), &response);
    if (status.ok()) {
      EXPECT_EQ(response.job(), "ps");
    }
    return status;
  }

  AdminService admin_;
  std::unique_ptr<grpc::Server> server_;  // the test's, serving admin_
};

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_ADMIN_SERVER_TEST_UTIL_H_
