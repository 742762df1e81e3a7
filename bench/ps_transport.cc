// Push + pull of float32 gradients against a real ps on loopback, with 1 and
// 2 workers (threads, each with its own PsClient, channel and connection),
// against plain TCP (bench/tcp_echo.h) moving the same bytes the same way in
// the same run: each worker sends B bytes and receives B bytes back per round;
// both directions count. Prints one line per case:
//
//   bytes=B workers=W push_pull_GBps=X tcp_GBps=Y ratio=X/Y
//
// The ps and the TCP echo server run in a child process, as a ps runs apart
// from its workers in a cluster (--ps_in=thread runs both in this process:
// gRPC's poller is then shared by the ps and the workers: at 4 MiB the gRPC
// side moved 8-33% less with 1 worker and 11-16% less with 2, the TCP side the
// same). The two
// sides are measured in turns (--turns slices of each, alternating) so that
// both see the same machine (its speed drifts: docs/benchmarks.md); `ratio`
// is the median of the turns' ratios, the GB/s figures are means over the
// turns.
//
// With --security_dir=DIR (a folder as scripts/tessera_security.sh makes:
// ca.pem, cert.pem, key.pem, token), a second ps serves with mutual TLS and
// the job token, as every launched job does, and a third side takes its
// turn: push + pull to that ps over TLS. The line then also has
//
//   tls_GBps=Z tls_ratio=Z/X
//
// the cost of security on this path (issue 16's target: tls_ratio >= 0.7),
// and what this machine allows it to be:
//
//   plain_cpu_ns_per_byte=C tls_cpu_ns_per_byte=T aead=NAME seal_open_ns_per_byte=A
//   tls_ratio_bound=R
//
// C and T are the CPU time of both processes (workers and servers) per byte
// of push + pull goodput on each side; A is the time one core takes to seal
// and to open a byte with the fastest AEAD TLS 1.3 may choose here (aes-128-gcm,
// aes-256-gcm, chacha20-poly1305 through this OpenSSL, 16 KiB records, measured
// in this run). Every goodput byte is sealed once and opened once, on top of
// all the plaintext path does, so on K cores TLS can move at most
// K / (C + A) GB/s: R is that over the plaintext figure (1 at most), a ceiling
// set by the cores and the cipher, whatever gRPC does.
//
// The ps also listens on a local socket (a private directory under /tmp), as
// the ps of a worker's own host does, and two more sides take their turns:
// push + pull through that socket with the bytes in the messages, and with
// the memory shared between worker and ps (docs/protocol.md, "Shared
// memory"):
//
//   uds_GBps=U shm_GBps=S shm_vs_uds=S/U
//
// Usage: bazel run //bench:ps_transport [-- --seconds=2 --turns=4
//            --bytes=4194304,67108864 --workers=1,2 --only=grpc|tcp|tls|uds|shm
//            --ps_in=process|thread --security_dir=DIR]
// (--only measures one side alone, for profiling; it prints no ratio; tls
// needs --security_dir).

#include <openssl/evp.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "bench/tcp_echo.h"
#include "common/daemon_setup.h"
#include "common/rpc/security_config.h"
#include "ps/ps_server.h"
#include "worker/ps_client.h"

ABSL_FLAG(double, seconds, 2.0, "measuring time per case and side");
ABSL_FLAG(int32_t, turns, 4, "slices each side's time is cut into, taken in turns");
ABSL_FLAG(std::vector<std::string>, bytes, std::vector<std::string>({"4194304", "67108864"}),
          "payload sizes in bytes (multiples of 4)");
ABSL_FLAG(std::vector<std::string>, workers, std::vector<std::string>({"1", "2"}),
          "worker counts (1 or 2)");
ABSL_FLAG(std::string, only, "",
          "grpc, tcp, tls (with --security_dir), uds or shm: measure only that side (profiling)");
ABSL_FLAG(std::string, security_dir, "",
          "also measure push + pull against a ps with mutual TLS and the job token "
          "from this folder (ca.pem, cert.pem, key.pem, token: scripts/tessera_security.sh)");
ABSL_FLAG(std::string, ps_in, "process",
          "where the ps runs: 'process' (a child process, as in a cluster) or 'thread' "
          "(in this process, sharing gRPC's poller with the workers)");

namespace tessera {
namespace {

constexpr char kFingerprint[] = "bench";

// CPU time of this process and of another (the servers' child), in seconds.
class CpuClock {
 public:
  explicit CpuClock(pid_t other) {
    clockid_t clock;
    if (other > 0 && clock_getcpuclockid(other, &clock) == 0) clocks_.push_back(clock);
  }
  double Seconds() const {
    double total = 0;
    for (clockid_t clock : clocks_) {
      timespec t{};
      if (clock_gettime(clock, &t) == 0) total += t.tv_sec + t.tv_nsec * 1e-9;
    }
    return total;
  }

 private:
  std::vector<clockid_t> clocks_ = {CLOCK_PROCESS_CPUTIME_ID};
};

// Goodput bytes and the CPU seconds they took, summed over a side's turns.
struct Usage {
  double bytes = 0;
  double cpu_seconds = 0;
  double NsPerByte() const { return bytes > 0 ? cpu_seconds / bytes * 1e9 : 0; }
};

// Runs `round` (one push+pull or one TCP round trip of `bytes` per worker) on
// `workers` threads until `seconds` passed; returns GB/s over both directions
// and, with a `usage`, adds the bytes and the CPU time of the timed part to it.
template <typename Round>
double Measure(int workers, int64_t bytes, absl::Duration budget, Round round, const CpuClock& cpu,
               Usage* usage) {
  for (int w = 0; w < workers; ++w) round(w);  // warm-up: connections, buffers
  std::vector<int64_t> rounds(workers, 0);
  const double cpu_start = cpu.Seconds();
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
  const double moved = 2.0 * static_cast<double>(bytes) * total;
  if (usage != nullptr) {
    usage->bytes += moved;
    usage->cpu_seconds += cpu.Seconds() - cpu_start;
  }
  return moved / seconds / 1e9;
}

// One core's time to seal and then to open a byte with `cipher` (an AEAD with
// a 12-byte nonce and a 16-byte tag), in ns, over 16 KiB records (TLS's
// largest) for about `budget` each; 0 if OpenSSL refuses.
double SealOpenNsPerByte(const EVP_CIPHER* cipher, absl::Duration budget) {
  constexpr int kRecord = 16384;
  using Context = std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX*)>;
  // Keyed once, as a TLS connection is; each record sets only its nonce.
  Context sealer(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  Context opener(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  unsigned char key[32], nonce[12] = {}, tag[16];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<unsigned char>(i * 37 + 1);
  if (sealer == nullptr || opener == nullptr ||
      EVP_EncryptInit_ex(sealer.get(), cipher, nullptr, key, nonce) != 1 ||
      EVP_DecryptInit_ex(opener.get(), cipher, nullptr, key, nonce) != 1) {
    return 0;
  }
  std::vector<unsigned char> plain(kRecord, 0x5a), sealed(kRecord), opened(kRecord);
  auto seal = [&]() {
    int n = 0, m = 0;
    return EVP_EncryptInit_ex(sealer.get(), nullptr, nullptr, nullptr, nonce) == 1 &&
           EVP_EncryptUpdate(sealer.get(), sealed.data(), &n, plain.data(), kRecord) == 1 &&
           EVP_EncryptFinal_ex(sealer.get(), sealed.data() + n, &m) == 1 &&
           EVP_CIPHER_CTX_ctrl(sealer.get(), EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
  };
  auto open = [&]() {
    int n = 0, m = 0;
    return EVP_DecryptInit_ex(opener.get(), nullptr, nullptr, nullptr, nonce) == 1 &&
           EVP_DecryptUpdate(opener.get(), opened.data(), &n, sealed.data(), kRecord) == 1 &&
           EVP_CIPHER_CTX_ctrl(opener.get(), EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1 &&
           EVP_DecryptFinal_ex(opener.get(), opened.data() + n, &m) == 1;  // checks the tag
  };
  auto time_of = [&](auto step) -> double {  // ns per byte, or -1
    int64_t records = 0;
    const absl::Time start = absl::Now();
    while (absl::Now() - start < budget) {
      for (int i = 0; i < 16; ++i, ++records) {
        if (!step()) return -1;
      }
    }
    return absl::ToDoubleNanoseconds(absl::Now() - start) / (records * double{kRecord});
  };
  if (!seal() || !open() || opened != plain) return 0;  // also the warm-up
  const double s = time_of(seal);
  if (!seal()) return 0;  // the record open() checks
  const double o = time_of(open);
  return s > 0 && o > 0 ? s + o : 0;
}

// The cores this process may run on.
int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

// The ps and the echo server, in a child process (forked before this process
// uses gRPC or starts a thread; the child serves until the parent closes its
// pipe or exits) or in this process.
class Servers {
 public:
  // `secure`: a second ps with these settings (mutual TLS and token), or
  // none. The plain ps also listens on `local_socket`, with shared memory.
  Servers(const SecurityConfig* secure, std::string local_socket)
      : secure_(secure), local_socket_(std::move(local_socket)) {}

  // False (with a message) when a server could not start.
  bool StartInThisProcess() {
    PsServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.local_socket = local_socket_;
    auto created = PsServer::Create(options);
    if (!created.ok()) {
      std::fprintf(stderr, "ps: %s\n", std::string(created.status().message()).c_str());
      return false;
    }
    ps_ = std::move(*created);
    ports_[0] = ps_->port();
    if (!echo_.Start()) return false;
    ports_[1] = echo_.port();
    if (secure_ == nullptr) return true;
    options.security = *secure_;
    options.local_socket.clear();
    created = PsServer::Create(options);
    if (!created.ok()) {
      std::fprintf(stderr, "secure ps: %s\n", std::string(created.status().message()).c_str());
      return false;
    }
    secure_ps_ = std::move(*created);
    ports_[2] = secure_ps_->port();
    return true;
  }

  bool StartInChildProcess() {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0) {
      std::perror("pipe");
      return false;
    }
    if (pipe(from_child) != 0) {
      std::perror("pipe");
      close(to_child[0]);
      close(to_child[1]);
      return false;
    }
    pid_ = fork();
    if (pid_ < 0) {
      std::perror("fork");
      for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) close(fd);
      return false;
    }
    if (pid_ == 0) {
      close(to_child[1]);
      close(from_child[0]);
      int ports[3] = {-1, -1, -1};
      if (StartInThisProcess()) std::copy(ports_, ports_ + 3, ports);
      if (write(from_child[1], ports, sizeof(ports)) != sizeof(ports) || ports[0] < 0) _exit(1);
      char byte;
      while (read(to_child[0], &byte, 1) < 0 && errno == EINTR) {
      }  // end of file: the parent is done, or gone
      ps_->Stop(absl::Seconds(1));
      if (secure_ps_ != nullptr) secure_ps_->Stop(absl::Seconds(1));
      _exit(0);
    }
    close(to_child[0]);
    close(from_child[1]);
    to_child_ = to_child[1];
    ssize_t got;
    while ((got = read(from_child[0], ports_, sizeof(ports_))) < 0 && errno == EINTR) {
    }
    close(from_child[0]);
    if (got != sizeof(ports_) || ports_[0] <= 0 || ports_[1] <= 0 ||
        (secure_ != nullptr && ports_[2] <= 0)) {
      std::fprintf(stderr, "the servers' child process did not start\n");
      return false;
    }
    return true;
  }

  // Ends the child (closing its pipe asks it to stop; after 10 s it is
  // killed) and reports how it ended.
  ~Servers() {
    if (ps_ != nullptr) ps_->Stop(absl::Seconds(1));
    if (secure_ps_ != nullptr) secure_ps_->Stop(absl::Seconds(1));
    if (to_child_ >= 0) close(to_child_);
    if (pid_ <= 0) return;
    int status = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    pid_t done = 0;
    while ((done = waitpid(pid_, &status, WNOHANG)) == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (done == 0) {
      std::fprintf(stderr, "the servers' child process (pid %d) did not stop in 10 s: killed\n",
                   static_cast<int>(pid_));
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    } else if (done == pid_ && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      std::fprintf(stderr, "the servers' child process ended with status %d\n", status);
    }
  }

  pid_t child_pid() const { return pid_; }
  int ps_port() const { return ports_[0]; }
  int echo_port() const { return ports_[1]; }
  int secure_ps_port() const { return ports_[2]; }

 private:
  const SecurityConfig* secure_;
  const std::string local_socket_;
  std::unique_ptr<PsServer> ps_;  // in this process only
  std::unique_ptr<PsServer> secure_ps_;
  EchoServer echo_;
  pid_t pid_ = -1;
  int to_child_ = -1;
  int ports_[3] = {-1, -1, -1};  // ps, echo, secure ps
};

// Parses a list flag of positive integers; false (with a message) when bad.
bool ParseList(const char* flag, const std::vector<std::string>& values, int64_t max,
               std::vector<int64_t>* out) {
  for (const std::string& v : values) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(v, &n) || n <= 0 || n > max) {
      std::fprintf(stderr, "--%s: '%s' is not an integer in [1, %lld]\n", flag, v.c_str(),
                   static_cast<long long>(max));
      return false;
    }
    out->push_back(n);
  }
  if (out->empty()) std::fprintf(stderr, "--%s: empty list\n", flag);
  return !out->empty();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Run() {
  std::vector<int64_t> sizes, worker_counts;
  if (!ParseList("bytes", absl::GetFlag(FLAGS_bytes), int64_t{1} << 30, &sizes) ||
      !ParseList("workers", absl::GetFlag(FLAGS_workers), 2, &worker_counts)) {
    return 2;
  }
  for (int64_t bytes : sizes) {
    if (bytes % 4 != 0) {
      std::fprintf(stderr, "--bytes: %lld is not a multiple of 4\n", static_cast<long long>(bytes));
      return 2;
    }
  }
  const std::string only = absl::GetFlag(FLAGS_only);
  if (!only.empty() && only != "grpc" && only != "tcp" && only != "tls" && only != "uds" &&
      only != "shm") {
    std::fprintf(stderr, "--only must be grpc, tcp, tls, uds or shm, got '%s'\n", only.c_str());
    return 2;
  }
  if (only == "tls" && absl::GetFlag(FLAGS_security_dir).empty()) {
    std::fprintf(stderr, "--only=tls needs --security_dir\n");
    return 2;
  }
  const int turns = absl::GetFlag(FLAGS_turns);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  if (turns < 1 || turns > 1000 || !(seconds > 0) || seconds > 3600 || seconds / turns < 0.05) {
    std::fprintf(stderr,
                 "--turns must be in [1, 1000], --seconds in (0, 3600], and each turn "
                 "(seconds / turns) at least 0.05 s\n");
    return 2;
  }
  const absl::Duration slice = absl::Seconds(seconds) / turns;

  const std::string ps_in = absl::GetFlag(FLAGS_ps_in);
  if (ps_in != "process" && ps_in != "thread") {
    std::fprintf(stderr, "--ps_in must be process or thread, got '%s'\n", ps_in.c_str());
    return 2;
  }
  std::optional<SecurityConfig> secure;
  if (const std::string dir = absl::GetFlag(FLAGS_security_dir); !dir.empty()) {
    SecurityFiles files;
    files.security_dir = dir;
    auto loaded = LoadSecurityConfig(files);
    if (!loaded.ok()) {
      std::fprintf(stderr, "--security_dir: %s\n", std::string(loaded.status().message()).c_str());
      return 2;
    }
    if (!loaded->mutual_tls() || !loaded->has_token()) {
      std::fprintf(stderr, "--security_dir=%s: want ca.pem, cert.pem, key.pem and token (%s)\n",
                   dir.c_str(), loaded->Mode().c_str());
      return 2;
    }
    secure = *loaded;
  }
  char socket_dir[] = "/tmp/tessera_ps_transport_XXXXXX";  // mode 0700
  if (mkdtemp(socket_dir) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string local_socket = std::string(socket_dir) + "/ps0-1.sock";
  struct RemoveDir {
    const char* dir;
    ~RemoveDir() { rmdir(dir); }  // empty once the ps removed its sockets
  } remove_dir{socket_dir};
  Servers servers(secure ? &*secure : nullptr, local_socket);
  if (!(ps_in == "process" ? servers.StartInChildProcess() : servers.StartInThisProcess())) {
    return 1;
  }
  const std::string address = "127.0.0.1:" + std::to_string(servers.ps_port());
  // The certificate names localhost and 127.0.0.1 (scripts/tessera_security.sh).
  const std::string secure_address = "localhost:" + std::to_string(servers.secure_ps_port());

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
  // clients[w]: plaintext; secure_clients[w]: mutual TLS and token.
  // uds_clients, shm_clients: through the ps's local socket, without and with
  // shared memory.
  std::vector<std::unique_ptr<PsConnection>> clients, secure_clients, uds_clients, shm_clients;
  for (int w = 0; w < 2; ++w) {
    clients.push_back(*NewPsClient(address, {}));
    PsClientOptions local;
    local.local_socket = local_socket;
    local.worker_task = w;
    local.shared_memory = false;
    uds_clients.push_back(*NewPsClient(address, local));
    local.shared_memory = true;
    shm_clients.push_back(*NewPsClient(address, local));
  }
  if (secure) {
    PsClientOptions options;
    options.security = *secure;
    for (int w = 0; w < 2; ++w) secure_clients.push_back(*NewPsClient(secure_address, options));
  }
  ChunkHeader assign;
  assign.set_kind(ASSIGN);
  assign.set_fingerprint(kFingerprint);
  ChunkHeader gradient = assign;
  gradient.set_kind(GRADIENT);
  for (auto* side : {&clients, &secure_clients}) {
    if (side->empty()) continue;
    PsConnection& client = *(*side)[0];
    if (auto created = client.CreateVariables(create); !created.ok()) {
      std::fprintf(stderr, "%s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    for (int64_t bytes : sizes) {
      std::vector<float> zeros(bytes / 4, 0.0f);
      std::vector<std::string> name = {"g" + std::to_string(bytes)};
      if (auto pushed = client.Push(assign, name, {zeros}); !pushed.ok()) {
        std::fprintf(stderr, "%s\n", std::string(pushed.status().message()).c_str());
        return 1;
      }
    }
  }

  const CpuClock cpu(servers.child_pid());
  const int cores = UsableCores();
  struct Aead {
    const char* name = "none";
    double ns_per_byte = 0;
  } aead;
  if (secure) {
    // The fastest AEAD TLS 1.3 could pick here: the most generous ceiling.
    const std::pair<const char*, const EVP_CIPHER*> candidates[] = {
        {"aes-128-gcm", EVP_aes_128_gcm()},
        {"aes-256-gcm", EVP_aes_256_gcm()},
        {"chacha20-poly1305", EVP_chacha20_poly1305()}};
    for (const auto& [name, cipher] : candidates) {
      const double ns = SealOpenNsPerByte(cipher, absl::Milliseconds(300));
      std::printf("%s: seal + open %.3f ns per byte on one core (16 KiB records)\n", name, ns);
      if (ns > 0 && (aead.ns_per_byte == 0 || ns < aead.ns_per_byte)) aead = {name, ns};
    }
    if (aead.ns_per_byte == 0) {
      std::fprintf(stderr, "OpenSSL ran none of the AEADs\n");
      return 1;
    }
  }
  for (int64_t bytes : sizes) {
    for (int64_t worker_count : worker_counts) {
      const int workers = static_cast<int>(worker_count);
      const std::vector<std::string> name = {"g" + std::to_string(bytes)};
      std::vector<std::vector<float>> grads(workers, std::vector<float>(bytes / 4, 1e-3f));
      std::vector<std::vector<float>> values(workers, std::vector<float>(bytes / 4));
      PullRequest pull;
      pull.set_fingerprint(kFingerprint);
      pull.add_blocks(name[0]);
      std::atomic<bool> failed{false};
      auto round_on = [&](std::vector<std::unique_ptr<PsConnection>>& side, int w) {
        ChunkHeader fields = gradient;
        fields.set_worker_task(w);
        auto pushed = side[w]->Push(fields, name, {grads[w]});
        auto pulled = side[w]->Pull(pull, {absl::MakeSpan(values[w])});
        if (!pushed.ok() || !pulled.ok()) {
          if (!failed.exchange(true)) {
            std::fprintf(stderr, "%s\n",
                         std::string((pushed.ok() ? pulled.status() : pushed.status()).message())
                             .c_str());
          }
        }
      };
      auto grpc_round = [&](int w) { round_on(clients, w); };
      auto tls_round = [&](int w) { round_on(secure_clients, w); };
      auto uds_round = [&](int w) { round_on(uds_clients, w); };
      auto shm_round = [&](int w) { round_on(shm_clients, w); };
      TcpEcho echo(servers.echo_port(), workers, bytes);
      if (!echo.ok()) return 1;
      auto tcp_round = [&](int w) { echo.Round(w); };
      double grpc_sum = 0, tcp_sum = 0, tls_sum = 0, uds_sum = 0, shm_sum = 0;
      std::vector<double> ratios, tls_ratios, shm_ratios;
      Usage grpc_usage, tls_usage;
      for (int t = 0; t < turns; ++t) {
        const bool run_grpc = only.empty() || only == "grpc";
        const bool run_tcp = only.empty() || only == "tcp";
        const bool run_tls = secure && (only.empty() || only == "grpc" || only == "tls");
        const double grpc =
            run_grpc ? Measure(workers, bytes, slice, grpc_round, cpu, &grpc_usage) : 0;
        const double tcp = run_tcp ? Measure(workers, bytes, slice, tcp_round, cpu, nullptr) : 0;
        const double tls = run_tls ? Measure(workers, bytes, slice, tls_round, cpu, &tls_usage) : 0;
        const bool run_uds = only.empty() || only == "uds";
        const bool run_shm = only.empty() || only == "shm";
        const double uds = run_uds ? Measure(workers, bytes, slice, uds_round, cpu, nullptr) : 0;
        const double shm = run_shm ? Measure(workers, bytes, slice, shm_round, cpu, nullptr) : 0;
        uds_sum += uds;
        shm_sum += shm;
        if (run_uds && run_shm) shm_ratios.push_back(shm / uds);
        grpc_sum += grpc;
        tcp_sum += tcp;
        tls_sum += tls;
        if (only.empty()) ratios.push_back(grpc / tcp);
        if (run_grpc && run_tls) tls_ratios.push_back(tls / grpc);
      }
      if (failed || !echo.ok()) {
        std::fprintf(stderr, "a push or pull or a TCP round failed\n");
        return 1;
      }
      std::printf("bytes=%lld workers=%d push_pull_GBps=%.3f tcp_GBps=%.3f",
                  static_cast<long long>(bytes), workers, grpc_sum / turns, tcp_sum / turns);
      if (only.empty()) {
        std::printf(" ratio=%.2f (median of %d turns, range %.2f-%.2f)", Median(ratios), turns,
                    *std::min_element(ratios.begin(), ratios.end()),
                    *std::max_element(ratios.begin(), ratios.end()));
      }
      if (only == "tls") std::printf(" tls_GBps=%.3f", tls_sum / turns);
      if (only == "uds" || only == "shm" || only.empty()) {
        std::printf(" uds_GBps=%.3f shm_GBps=%.3f", uds_sum / turns, shm_sum / turns);
      }
      if (!shm_ratios.empty()) {
        std::printf(" shm_vs_uds=%.2f (median of %d turns, range %.2f-%.2f)", Median(shm_ratios),
                    turns, *std::min_element(shm_ratios.begin(), shm_ratios.end()),
                    *std::max_element(shm_ratios.begin(), shm_ratios.end()));
      }
      if (!tls_ratios.empty()) {
        std::printf(" tls_GBps=%.3f tls_ratio=%.2f (median of %d turns, range %.2f-%.2f)",
                    tls_sum / turns, Median(tls_ratios), turns,
                    *std::min_element(tls_ratios.begin(), tls_ratios.end()),
                    *std::max_element(tls_ratios.begin(), tls_ratios.end()));
        // The ceiling: the plaintext path's CPU per byte plus one seal and one
        // open per byte, on every usable core, over the plaintext figure.
        const double bound_GBps = cores / (grpc_usage.NsPerByte() + aead.ns_per_byte);
        std::printf(
            " plain_cpu_ns_per_byte=%.3f tls_cpu_ns_per_byte=%.3f aead=%s "
            "seal_open_ns_per_byte=%.3f cores=%d tls_ratio_bound=%.2f",
            grpc_usage.NsPerByte(), tls_usage.NsPerByte(), aead.name, aead.ns_per_byte, cores,
            std::min(1.0, bound_GBps / (grpc_sum / turns)));
      }
      std::printf("\n");
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  // The daemons' settings (common/daemon_setup.h), for the ps (the child
  // process inherits them) and the workers.
  const tessera::DaemonSetup setup = tessera::SetUpDaemon(std::getenv);
  for (const auto& [name, value] : setup.environment) setenv(name.c_str(), value.c_str(), 0);
  absl::ParseCommandLine(argc, argv);
  for (const std::string& line : setup.LogLines()) std::printf("%s\n", line.c_str());
  return tessera::Run();
}
