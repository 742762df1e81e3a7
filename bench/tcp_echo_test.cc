#include "bench/tcp_echo.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(TcpEchoTest, RoundsOverTwoConnections) {
  EchoServer server;
  ASSERT_TRUE(server.Start());
  EXPECT_GT(server.port(), 0);
  TcpEcho echo(server.port(), 2, 1 << 20);
  ASSERT_TRUE(echo.ok());
  for (int i = 0; i < 3; ++i) {
    echo.Round(0);
    echo.Round(1);
  }
  EXPECT_TRUE(echo.ok());
}

TEST(TcpEchoTest, NobodyListeningIsNotOk) {
  // A loopback port that is bound but not listening refuses connections.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  TcpEcho echo(ntohs(address.sin_port), 1, 8);
  EXPECT_FALSE(echo.ok());
  close(fd);
}

}  // namespace
}  // namespace tessera
