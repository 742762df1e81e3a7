#ifndef TESSERA_BENCH_TCP_ECHO_H_
#define TESSERA_BENCH_TCP_ECHO_H_

// Plain TCP on loopback moving the same bytes the same way as a push + pull:
// the reference that bench/ps_transport measures the ps against. Each round a
// worker sends `bytes` and receives them back, over its own connection, with
// reused buffers on both sides. Errors are reported with perror and ok().

#include <atomic>
#include <cstdint>
#include <vector>

namespace tessera {

// The server side: every connection first sends the round's size (8 bytes,
// at most 1 GiB), then the server receives that many bytes and sends them
// back, for as long as the connection lasts, one thread per connection with a
// reused buffer (as the ps holds its block). Its threads are detached and
// live until the process exits; so does the listening socket.
class EchoServer {
 public:
  // Listens on a free loopback port; false (with a message on stderr) on failure.
  bool Start();
  // The port Start() bound; -1 before a successful Start().
  int port() const { return port_; }

 private:
  int listener_ = -1;
  int port_ = -1;
};

// The client side: one connection per worker to an EchoServer at
// 127.0.0.1:`port`. Round(w) may run concurrently for different w, never for
// the same w.
class TcpEcho {
 public:
  // Connects `workers` connections for rounds of `bytes`; on failure ok() is false.
  TcpEcho(int port, int workers, int64_t bytes);
  ~TcpEcho();
  TcpEcho(const TcpEcho&) = delete;
  TcpEcho& operator=(const TcpEcho&) = delete;

  // False once a connection or a round failed.
  bool ok() const { return ok_; }
  // Worker `w` sends its buffer and receives it back.
  void Round(int w);

 private:
  const int64_t bytes_;
  std::vector<int> fds_;
  std::vector<std::vector<char>> buffers_;
  std::atomic<bool> ok_{true};
};

}  // namespace tessera

#endif  // TESSERA_BENCH_TCP_ECHO_H_
