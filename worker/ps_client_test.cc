// PsClient on its own: argument checks and the UNAVAILABLE retry contract.
// The client against a real ps is tested in //test:ps_service_test.

#include "worker/ps_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

// A loopback port with nothing listening: bound (so nobody else takes it) but
// never listen()ed, so connections are refused.
class DeadPort {
 public:
  DeadPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~DeadPort() { close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(PsClientTest, EmptyAddressIsInvalid) {
  EXPECT_EQ(NewPsClient("", {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PsClientTest, UnavailablePsIsRetriedThenNamed) {
  DeadPort dead;
  PsClientOptions options;
  options.ps_task = 3;
  options.unavailable_timeout = absl::Milliseconds(600);
  options.rpc_timeout = absl::Seconds(5);
  auto client = NewPsClient(dead.address(), options);
  ASSERT_TRUE(client.ok());
  auto response = (*client)->CreateVariables(CreateVariablesRequest());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  const std::string prefix = "CreateVariables to ps 3 at " + dead.address() + ": gave up after ";
  EXPECT_EQ(response.status().message().substr(0, prefix.size()), prefix)
      << response.status();
}

TEST(PsClientTest, MismatchedArgumentsAreInvalid) {
  DeadPort dead;
  auto client = NewPsClient(dead.address(), {});
  ASSERT_TRUE(client.ok());
  PullRequest request;
  request.add_blocks("a");
  std::vector<float> buffer(4);
  EXPECT_EQ((*client)->Pull(request, {}).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> names = {"a", "b"};
  std::vector<absl::Span<const float>> values = {buffer};
  EXPECT_EQ((*client)->Push(ChunkHeader(), names, values).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tessera
