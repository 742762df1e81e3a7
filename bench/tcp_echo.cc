#include "bench/tcp_echo.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

namespace tessera {
namespace {

bool SendAll(int fd, const char* data, int64_t n) {
  while (n > 0) {
    ssize_t sent = send(fd, data, n, MSG_NOSIGNAL);  // a gone peer is an error, not SIGPIPE
    if (sent <= 0) return false;
    data += sent;
    n -= sent;
  }
  return true;
}

bool RecvAll(int fd, char* data, int64_t n) {
  while (n > 0) {
    ssize_t got = recv(fd, data, n, 0);
    if (got <= 0) return false;
    data += got;
    n -= got;
  }
  return true;
}

}  // namespace

bool EchoServer::Start() {
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      listen(listener_, 16) != 0) {
    std::perror("echo server: listen on 127.0.0.1");
    if (listener_ >= 0) close(listener_);
    listener_ = -1;
    return false;
  }
  port_ = ntohs(address.sin_port);
  std::thread([listener = listener_] {
    while (true) {
      const int fd = accept(listener, nullptr, nullptr);
      if (fd < 0) {
        if (errno == EINTR) continue;
        return;
      }
      std::thread([fd] {
        int64_t bytes = 0;
        if (RecvAll(fd, reinterpret_cast<char*>(&bytes), sizeof(bytes)) && bytes > 0 &&
            bytes <= (int64_t{1} << 30)) {
          std::vector<char> buffer(bytes);
          while (RecvAll(fd, buffer.data(), bytes) && SendAll(fd, buffer.data(), bytes)) {
          }
        }
        close(fd);
      }).detach();
    }
  }).detach();
  return true;
}

TcpEcho::TcpEcho(int port, int workers, int64_t bytes) : bytes_(bytes) {
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  for (int w = 0; w < workers; ++w) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        !SendAll(fd, reinterpret_cast<const char*>(&bytes_), sizeof(bytes_))) {
      std::perror("connect to the echo server");
      ok_ = false;
    }
    fds_.push_back(fd);
    buffers_.emplace_back(bytes, 1);
  }
}

TcpEcho::~TcpEcho() {
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

void TcpEcho::Round(int w) {
  if (!SendAll(fds_[w], buffers_[w].data(), bytes_) ||
      !RecvAll(fds_[w], buffers_[w].data(), bytes_)) {
    ok_ = false;
  }
}

}  // namespace tessera
