// Local sockets (local_socket.h): the directory's checks, stale and live
// sockets, host locality, and a real gRPC server and client over a Unix domain
// socket with and without the job token, beside a mutual-TLS TCP port.

#include "common/rpc/local_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/rpc/admin_server_test_util.h"
#include "common/rpc/channel.h"
#include "common/rpc/grpc_server.h"
#include "common/rpc/security_config.h"
#include "common/rpc/test_certs.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr char kToken[] = "0123456789abcdef0123456789abcdef";

// A directory of this test under /tmp: the test's TEST_TMPDIR is deeper than a
// Unix socket path may be long (107 bytes).
const std::string& ShortTempDir() {
  static const std::string* dir = [] {
    char pattern[] = "/tmp/tessera_local_socket_test_XXXXXX";
    const char* made = mkdtemp(pattern);
    return new std::string(made != nullptr ? made : "/tmp");
  }();
  return *dir;
}

std::string FreshDir(const std::string& name) {
  const std::string dir = absl::StrCat(ShortTempDir(), "/", name);
  rmdir(dir.c_str());
  return dir;
}

// A socket file at `path` with nobody accepting on it (its listener closed).
void MakeStaleSocket(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
      << std::strerror(errno);
  close(fd);
}

TEST(LocalSocketDirTest, CreatesItPrivateAndRefusesOneOthersCanEnter) {
  const std::string dir = FreshDir("sockets_new");
  ASSERT_TRUE(PrepareLocalSocketDir(dir).ok());
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_TRUE(PrepareLocalSocketDir(dir).ok()) << "an existing private directory is fine";

  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  absl::Status open = PrepareLocalSocketDir(dir);
  EXPECT_EQ(open.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(open.message(), absl::StrCat("local socket directory ", dir,
                                         " has mode 0755: other users could reach the sockets; "
                                         "want 0700 (chmod 700 ",
                                         dir, ")"));

  const std::string link = FreshDir("sockets_link");
  unlink(link.c_str());
  ASSERT_EQ(symlink(dir.c_str(), link.c_str()), 0);
  absl::Status linked = PrepareLocalSocketDir(link);
  EXPECT_EQ(linked.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(linked.message().find("a symbolic link, refused"), std::string::npos)
      << linked.message();
  unlink(link.c_str());
}

TEST(LocalSocketDirTest, FlagValues) {
  EXPECT_EQ(*ResolveLocalSocketDir("", "local_socket_dir"), "");
  EXPECT_EQ(*ResolveLocalSocketDir("none", "local_socket_dir"), "");
  const std::string dir = FreshDir("sockets_flag");
  EXPECT_EQ(*ResolveLocalSocketDir(dir, "local_socket_dir"), dir);
  ASSERT_EQ(chmod(dir.c_str(), 0750), 0);
  EXPECT_EQ(ResolveLocalSocketDir(dir, "local_socket_dir").status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "a directory given explicitly must be private";
  absl::StatusOr<std::string> relative = ResolveLocalSocketDir("sockets", "local_socket_dir");
  EXPECT_EQ(relative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(relative.status().message(),
            "--local_socket_dir=sockets: want auto, none or an absolute path");
  EXPECT_EQ(DefaultLocalSocketDir(), absl::StrCat("/tmp/tessera-", geteuid()));
  absl::StatusOr<std::string> automatic = ResolveLocalSocketDir("auto", "local_socket_dir");
  ASSERT_TRUE(automatic.ok()) << automatic.status();
  EXPECT_TRUE(*automatic == DefaultLocalSocketDir() || automatic->empty()) << *automatic;
  EXPECT_EQ(LocalSocketPath("/d", 2, 2222), "/d/ps2-2222.sock");
  EXPECT_EQ(LocalSocketPathFor("/d", 2, "n1:2222"), "/d/ps2-2222.sock");
  EXPECT_EQ(LocalSocketPathFor("/d", 0, "[::1]:7"), "/d/ps0-7.sock");
  EXPECT_EQ(LocalSocketPathFor("", 2, "n1:2222"), "");
  EXPECT_EQ(LocalSocketPathFor("/d", 2, "n1"), "");
}

TEST(LocalSocketPathTest, RemovesAStaleSocketAndRefusesOtherFiles) {
  const std::string dir = FreshDir("sockets_claim");
  ASSERT_TRUE(PrepareLocalSocketDir(dir).ok());
  const std::string path = LocalSocketPath(dir, 0, 1);
  unlink(path.c_str());
  EXPECT_TRUE(ClaimLocalSocketPath(path).ok()) << "nothing there";
  MakeStaleSocket(path);
  EXPECT_TRUE(ClaimLocalSocketPath(path).ok());
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "the stale socket is gone";

  const std::string file = LocalSocketPath(dir, 0, 2);
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  absl::Status other = ClaimLocalSocketPath(file);
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(other.message(),
            absl::StrCat("local socket ", file, ": something else than a socket is there"));
  EXPECT_EQ(access(file.c_str(), F_OK), 0) << "left alone";

  const std::string long_path = "/tmp/" + std::string(120, 'x') + ".sock";
  EXPECT_EQ(ClaimLocalSocketPath(long_path).code(), absl::StatusCode::kInvalidArgument);
}

TEST(IsLocalHostTest, LoopbackAndThisHostsAddressesOnly) {
  EXPECT_TRUE(IsLocalHost("localhost"));
  EXPECT_TRUE(IsLocalHost("127.0.0.1"));
  EXPECT_TRUE(IsLocalHost("127.3.4.5"));
  EXPECT_TRUE(IsLocalHost("::1"));
  EXPECT_TRUE(IsLocalHost("[::1]"));
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof(name) - 1), 0);
  EXPECT_TRUE(IsLocalHost(name)) << name;
  // TEST-NET-1 (RFC 5737): never an address of this machine.
  EXPECT_FALSE(IsLocalHost("192.0.2.1"));
  EXPECT_FALSE(IsLocalHost("no-such-host.invalid"));
  EXPECT_FALSE(IsLocalHost(""));
}

class LocalSocketServerTest : public AdminServerTest {
 protected:
  void Serve(const SecurityConfig& config) {
    const std::string dir = FreshDir("sockets_server");
    ASSERT_TRUE(PrepareLocalSocketDir(dir).ok());
    socket_ = LocalSocketPath(dir, 0, 1);
    MakeStaleSocket(socket_);  // StartGrpcServer replaces it
    absl::StatusOr<StartedServer> started =
        StartGrpcServer("ps:0", "127.0.0.1:0", "", {&admin_}, config, socket_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started->server);
  }

  grpc::Status Call(const SecurityConfig& client) {
    ChannelOptions options;
    options.security = client;
    options.local_socket = socket_;
    return CallStatus("localhost:1", options);
  }

  std::string socket_;
};

TEST_F(LocalSocketServerTest, PlaintextJobServesOverTheSocket) {
  Serve(SecurityConfig());
  EXPECT_TRUE(Call(SecurityConfig()).ok());
  EXPECT_EQ(ClaimLocalSocketPath(socket_).code(), absl::StatusCode::kFailedPrecondition)
      << "a live server's socket is not taken over";
}

TEST_F(LocalSocketServerTest, SecuredJobChecksTheTokenWithoutTls) {
  absl::StatusOr<TestCerts> certs = MakeTestCerts(testing::TempDir() + "/local_socket_certs");
  ASSERT_TRUE(certs.ok()) << certs.status();
  SecurityConfig job;
  job.ca_pem = certs->ca_pem;
  job.cert_pem = certs->cert_pem;
  job.key_pem = certs->key_pem;
  job.token = kToken;
  Serve(job);
  EXPECT_TRUE(Call(job).ok());
  SecurityConfig no_token = job;
  no_token.token.clear();
  grpc::Status status = Call(no_token);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  SecurityConfig wrong = job;
  wrong.token = "fedcba9876543210fedcba9876543210";
  EXPECT_EQ(Call(wrong).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Call(job).ok()) << "still serving";
}

// Removes ShortTempDir() after the tests.
class RemoveShortTempDir : public testing::Environment {
 public:
  void TearDown() override {
    if (ShortTempDir() != "/tmp") std::filesystem::remove_all(ShortTempDir());
  }
};
const testing::Environment* const kRemoveShortTempDir =
    testing::AddGlobalTestEnvironment(new RemoveShortTempDir);

}  // namespace
}  // namespace tessera
