#include "common/admin/admin_service.h"

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(AdminServiceTest, StatusAndShutdownOverARealChannel) {
  std::string shutdown_reason;
  absl::Notification shutdown;
  AdminService service(
      [] {
        StatusResponse status;
        status.set_job("ps");
        status.set_task(3);
        status.set_state("ready");
        return status;
      },
      [&](const std::string& reason) {
        shutdown_reason = reason;
        shutdown.Notify();
      });
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);

  auto stub = Admin::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                 grpc::InsecureChannelCredentials()));
  grpc::ClientContext status_context;
  status_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  StatusResponse status;
  ASSERT_TRUE(stub->GetStatus(&status_context, StatusRequest(), &status).ok());
  EXPECT_EQ(status.job(), "ps");
  EXPECT_EQ(status.task(), 3);
  EXPECT_GT(status.rss_bytes(), 1 << 20);  // this test process holds more than 1 MiB

  grpc::ClientContext shutdown_context;
  shutdown_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ShutdownRequest request;
  request.set_reason("job finished");
  ShutdownResponse response;
  ASSERT_TRUE(stub->Shutdown(&shutdown_context, request, &response).ok());
  ASSERT_TRUE(shutdown.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(shutdown_reason, "job finished");
  server->Shutdown();
}

TEST(AdminServiceTest, ResidentSetBytesIsPositive) { EXPECT_GT(ResidentSetBytes(), 0); }

}  // namespace
}  // namespace tessera
