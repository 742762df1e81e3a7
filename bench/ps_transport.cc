// Push + pull of float32 gradients against a real ps on loopback, with 1 and
// 2 workers (threads, each with its own PsClient, channel and connection),
// against plain TCP moving the same bytes the same way in the same run: each
// worker sends B bytes and receives B bytes back per round; both directions
// count. Prints one line per case:
//
//   bytes=B workers=W push_pull_GBps=X tcp_GBps=Y ratio=X/Y
//
// Usage: bazel run -c opt //bench:ps_transport [-- --seconds=2]

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "ps/ps_server.h"
#include "worker/ps_client.h"

ABSL_FLAG(double, seconds, 2.0, "minimum measuring time per case");

namespace tessera {
namespace {

constexpr char kFingerprint[] = "bench";

// Runs `round` (one push+pull or one TCP round trip of `bytes` per worker) on
// `workers` threads until `seconds` passed; returns GB/s over both directions.
template <typename Round>
double Measure(int workers, int64_t bytes, Round round) {
  for (int w = 0; w < workers; ++w) round(w);  // warm-up: connections, buffers
  const absl::Duration budget = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::vector<int64_t> rounds(workers, 0);
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      while (absl::Now() - start < budget) {
        round(w);
        ++rounds[w];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  int64_t total = 0;
  for (int64_t r : rounds) total += r;
  return 2.0 * static_cast<double>(bytes) * total / seconds / 1e9;
}

bool SendAll(int fd, const char* data, int64_t n) {
  while (n > 0) {
    ssize_t sent = send(fd, data, n, 0);
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

// A loopback TCP echo of `bytes` per round for each worker, with reused buffers.
class TcpEcho {
 public:
  TcpEcho(int workers, int64_t bytes) : bytes_(bytes) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    listen(listener, workers);
    for (int w = 0; w < workers; ++w) {
      int client = socket(AF_INET, SOCK_STREAM, 0);
      connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address));
      int server = accept(listener, nullptr, nullptr);
      clients_.push_back(client);
      buffers_.emplace_back(bytes, 1);
      servers_.emplace_back([this, server] {
        std::vector<char> buffer(bytes_);
        while (RecvAll(server, buffer.data(), bytes_) && SendAll(server, buffer.data(), bytes_)) {
        }
        close(server);
      });
    }
    close(listener);
  }
  ~TcpEcho() {
    for (int fd : clients_) shutdown(fd, SHUT_RDWR);
    for (auto& thread : servers_) thread.join();
    for (int fd : clients_) close(fd);
  }
  void Round(int w) {
    SendAll(clients_[w], buffers_[w].data(), bytes_);
    RecvAll(clients_[w], buffers_[w].data(), bytes_);
  }

 private:
  const int64_t bytes_;
  std::vector<int> clients_;
  std::vector<std::vector<char>> buffers_;
  std::vector<std::thread> servers_;
};

int Run() {
  PsServerOptions options;
  options.listen_address = "127.0.0.1:0";
  auto server = PsServer::Create(options);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  const std::string address = "127.0.0.1:" + std::to_string((*server)->port());
  const std::vector<int64_t> sizes = {int64_t{4} << 20, int64_t{64} << 20};

  CreateVariablesRequest create;
  create.set_fingerprint(kFingerprint);
  create.set_num_workers(2);
  create.set_holds_global_step(true);
  create.mutable_optimizer()->set_learning_rate(0.0f);
  create.mutable_optimizer()->mutable_sgd();
  for (int64_t bytes : sizes) {
    BlockSpec* block = create.add_blocks();
    block->set_name("g" + std::to_string(bytes));
    block->mutable_shape()->add_dim(bytes / 4);
  }
  std::vector<std::unique_ptr<PsClient>> clients;
  for (int w = 0; w < 2; ++w) clients.push_back(*PsClient::Create(address, {}));
  ChunkHeader assign;
  assign.set_kind(ASSIGN);
  assign.set_fingerprint(kFingerprint);
  ChunkHeader gradient = assign;
  gradient.set_kind(GRADIENT);
  if (auto created = clients[0]->CreateVariables(create); !created.ok()) {
    std::fprintf(stderr, "%s\n", std::string(created.status().message()).c_str());
    return 1;
  }
  for (int64_t bytes : sizes) {
    std::vector<float> zeros(bytes / 4, 0.0f);
    std::vector<std::string> name = {"g" + std::to_string(bytes)};
    if (auto pushed = clients[0]->Push(assign, name, {zeros}); !pushed.ok()) {
      std::fprintf(stderr, "%s\n", std::string(pushed.status().message()).c_str());
      return 1;
    }
  }

  for (int64_t bytes : sizes) {
    for (int workers : {1, 2}) {
      const std::vector<std::string> name = {"g" + std::to_string(bytes)};
      std::vector<std::vector<float>> grads(workers, std::vector<float>(bytes / 4, 1e-3f));
      std::vector<std::vector<float>> values(workers, std::vector<float>(bytes / 4));
      PullRequest pull;
      pull.set_fingerprint(kFingerprint);
      pull.add_blocks(name[0]);
      bool failed = false;
      const double grpc = Measure(workers, bytes, [&](int w) {
        ChunkHeader fields = gradient;
        fields.set_worker_task(w);
        auto pushed = clients[w]->Push(fields, name, {grads[w]});
        auto pulled = clients[w]->Pull(pull, {absl::MakeSpan(values[w])});
        if (!pushed.ok() || !pulled.ok()) failed = true;
      });
      double tcp;
      {
        TcpEcho echo(workers, bytes);
        tcp = Measure(workers, bytes, [&](int w) { echo.Round(w); });
      }
      if (failed) {
        std::fprintf(stderr, "a push or pull failed\n");
        return 1;
      }
      std::printf("bytes=%lld workers=%d push_pull_GBps=%.3f tcp_GBps=%.3f ratio=%.2f\n",
                  static_cast<long long>(bytes), workers, grpc, tcp, grpc / tcp);
      std::fflush(stdout);
    }
  }
  (*server)->Stop(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tessera::Run();
}
