#include "common/rpc/security_config.h"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using ::testing::HasSubstr;

std::string WriteFile(const std::string& name, const std::string& text, mode_t mode) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
  return path;
}

constexpr char kPem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

TEST(SecurityConfigTest, ModeNamesWhatTheServerRequires) {
  SecurityConfig config;
  EXPECT_EQ(config.Mode(), "insecure");
  config.token = "t";
  EXPECT_EQ(config.Mode(), "token");
  config.cert_pem = kPem;
  config.key_pem = kPem;
  EXPECT_EQ(config.Mode(), "tls+token");
  config.ca_pem = kPem;
  EXPECT_EQ(config.Mode(), "mtls+token");
  config.token.clear();
  EXPECT_EQ(config.Mode(), "mtls");
}

TEST(SecurityConfigTest, TokenFileOthersCanReadIsRefusedNamingItsMode) {
  const std::string path = WriteFile("open_token", "secret\n", 0644);
  absl::StatusOr<std::string> token = ReadTokenFile(path);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(token.status().message(),
            "token file " + path + " has mode 0644: others than its owner can read or write it; "
            "run: chmod 600 " + path);
}

TEST(SecurityConfigTest, TokenFileOfItsOwnerOnlyIsReadWithoutWhiteSpace) {
  EXPECT_EQ(ReadTokenFile(WriteFile("good_token", " secret\n", 0600)).value(), "secret");
  absl::StatusOr<std::string> empty = ReadTokenFile(WriteFile("empty_token", "\n", 0600));
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadTokenFile(testing::TempDir() + "/no_such_token").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SecurityConfigTest, SecurityDirSuppliesTheFilesItHolds) {
  const std::string dir = testing::TempDir() + "/security_dir";
  mkdir(dir.c_str(), 0700);
  WriteFile("security_dir/ca.pem", kPem, 0644);
  WriteFile("security_dir/cert.pem", kPem, 0644);
  WriteFile("security_dir/key.pem", kPem, 0600);
  WriteFile("security_dir/token", "job-secret\n", 0600);
  SecurityFiles files;
  files.security_dir = dir;
  absl::StatusOr<SecurityConfig> config = LoadSecurityConfig(files);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->Mode(), "mtls+token");
  EXPECT_EQ(config->token, "job-secret");
  // An explicit flag wins over the directory's file.
  files.token_file = WriteFile("other_token", "other-secret", 0600);
  EXPECT_EQ(LoadSecurityConfig(files)->token, "other-secret");
}

TEST(SecurityConfigTest, CertificateWithoutKeyOrNotPemIsAnError) {
  SecurityFiles files;
  files.cert_file = WriteFile("lonely_cert.pem", kPem, 0644);
  absl::StatusOr<SecurityConfig> config = LoadSecurityConfig(files);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("but no key"), std::string::npos);
  files.key_file = WriteFile("garbage_key.pem", "garbage", 0600);
  config = LoadSecurityConfig(files);
  EXPECT_EQ(config.status().message(),
            "TLS key " + files.key_file + ": not PEM (no -----BEGIN line)");
}

TEST(SecurityConfigTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("[::1]"));
  EXPECT_FALSE(IsLoopbackHost("n1"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("localhost.example.com"));
}

TEST(SecurityConfigTest, HandshakeFailuresGetAHintNamingTheLikelyCause) {
  SecurityConfig plain, tls;
  tls.ca_pem = tls.cert_pem = tls.key_pem = kPem;
  // The client-side messages gRPC 1.51 gives (docs/security.md, "What each side sees").
  const std::string closed = "failed to connect to all addresses; last error: UNKNOWN: "
                             "ipv4:127.0.0.1:2222: Socket closed";
  const std::string version = "Ssl handshake failed: SSL_ERROR_SSL: error:0A00010B:SSL "
                              "routines::wrong version number";
  const std::string verify = "Ssl handshake failed: SSL_ERROR_SSL: error:0A000086:SSL "
                             "routines::certificate verify failed";
  EXPECT_THAT(HandshakeHint(closed, plain), HasSubstr("may require TLS"));
  EXPECT_THAT(HandshakeHint(closed, tls), HasSubstr("refuses a client certificate"));
  EXPECT_THAT(HandshakeHint(version, tls), HasSubstr("does not speak TLS"));
  EXPECT_THAT(HandshakeHint(verify, tls), HasSubstr("not signed by this client's CA"));
  // Anything else (a ps that is down, a deadline) gets none.
  EXPECT_EQ(HandshakeHint("failed to connect to all addresses; last error: UNKNOWN: "
                          "ipv4:127.0.0.1:2222: Failed to connect to remote host: "
                          "Connection refused",
                          tls),
            "");
  EXPECT_EQ(HandshakeHint("Deadline Exceeded", plain), "");
  EXPECT_EQ(HandshakeHint("failed to connect to all addresses; last error: UNKNOWN: "
                          "ipv4:127.0.0.1:2222: tcp handshaker shutdown",
                          tls),
            "");
}

TEST(SecurityConfigTest, PolicyAllowsPlainOnLoopbackOnly) {
  SecurityConfig plain;
  EXPECT_TRUE(CheckSecurityPolicy(plain, {"localhost:2222", "127.0.0.1:2223", "[::1]:2224"}, "ps:0")
                  .ok());
  absl::Status refused = CheckSecurityPolicy(plain, {"localhost:2222", "n1:2222"}, "ps:0");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message().substr(0, 101),
            "ps:0: refusing to serve without TLS and a job token on a cluster that is not all "
            "loopback (n1:2222): ");
  plain.insecure = true;
  EXPECT_TRUE(CheckSecurityPolicy(plain, {"n1:2222"}, "ps:0").ok());

  SecurityConfig secured;
  secured.cert_pem = secured.key_pem = kPem;
  EXPECT_EQ(CheckSecurityPolicy(secured, {"n1:2222"}, "worker:1").message().substr(0, 50),
            "worker:1: refusing to serve without a job token on");
  secured.token = "t";
  EXPECT_TRUE(CheckSecurityPolicy(secured, {"n1:2222"}, "ps:0").ok());

  SecurityConfig token_only;
  token_only.token = "t";
  token_only.insecure = true;
  EXPECT_EQ(CheckSecurityPolicy(token_only, {"n1:2222"}, "ps:0").code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tessera
