// TLS, mutual TLS and the job token between a real gRPC server and client
// (in process, port 0), with certificates made by openssl for this test.

#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/rpc/admin_server_test_util.h"
#include "common/rpc/channel.h"
#include "common/rpc/grpc_server.h"
#include "common/rpc/security_config.h"
#include "common/rpc/test_certs.h"
#include "common/rpc/token_auth.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr char kToken[] = "0123456789abcdef0123456789abcdef";

class SecurityTest : public AdminServerTest {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<TestCerts> certs = MakeTestCerts(testing::TempDir() + "/security_test_certs");
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = new TestCerts(*std::move(certs));
  }
  static void TearDownTestSuite() { delete certs_; }

  // The job's mutual TLS and token, as the launch scripts set them up.
  static SecurityConfig Job() {
    SecurityConfig config;
    config.ca_pem = certs_->ca_pem;
    config.cert_pem = certs_->cert_pem;
    config.key_pem = certs_->key_pem;
    config.token = kToken;
    return config;
  }

  void Serve(const SecurityConfig& config) {
    absl::StatusOr<StartedServer> started =
        StartGrpcServer("ps:0", "127.0.0.1:0", "", {&admin_}, config);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started->server);
    address_ = absl::StrCat("localhost:", started->port);
  }

  // UNAVAILABLE and the end of its message (gRPC's reason) on a failed handshake.
  void ExpectHandshakeFails(const SecurityConfig& client, const std::string& reason) {
    grpc::Status status = Call(client);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    const std::string& message = status.error_message();
    EXPECT_EQ(message.substr(message.size() - std::min(message.size(), reason.size())), reason)
        << message;
  }

  grpc::Status Call(const SecurityConfig& client) {
    ChannelOptions options;
    options.security = client;
    return CallStatus(address_, options);
  }

  static TestCerts* certs_;
  std::string address_;
};

TestCerts* SecurityTest::certs_ = nullptr;

TEST_F(SecurityTest, MutualTlsWithTokenServesTheJob) {
  Serve(Job());
  EXPECT_TRUE(Call(Job()).ok());
}

TEST_F(SecurityTest, CallWithoutTokenIsUnauthenticatedAndTheServerKeepsServing) {
  Serve(Job());
  SecurityConfig no_token = Job();
  no_token.token.clear();
  grpc::Status status = Call(no_token);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(),
            "missing job token: this server requires the job's token (--token_file or "
            "--security_dir; docs/security.md)");
  EXPECT_TRUE(Call(Job()).ok());
}

TEST_F(SecurityTest, CallWithWrongTokenIsUnauthenticated) {
  Serve(Job());
  SecurityConfig wrong = Job();
  wrong.token = "fedcba9876543210fedcba9876543210";
  grpc::Status status = Call(wrong);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message().substr(0, 16), "wrong job token:");
  EXPECT_TRUE(Call(Job()).ok());
}

TEST_F(SecurityTest, PlaintextClientCannotTalkToTlsServer) {
  Serve(Job());
  ExpectHandshakeFails(SecurityConfig(), "Socket closed");
  EXPECT_TRUE(Call(Job()).ok());
}

TEST_F(SecurityTest, TlsClientRefusesPlaintextServer) {
  Serve(SecurityConfig());
  ExpectHandshakeFails(Job(), "Ssl handshake failed: SSL_ERROR_SSL: error:0A00010B:SSL "
                              "routines::wrong version number");
  EXPECT_TRUE(Call(SecurityConfig()).ok());
}

TEST_F(SecurityTest, ClientRefusesServerOfAnotherCa) {
  Serve(Job());
  SecurityConfig other = Job();
  other.ca_pem = certs_->other_ca_pem;
  ExpectHandshakeFails(other, "certificate verify failed");
  EXPECT_TRUE(Call(Job()).ok());
}

TEST_F(SecurityTest, ServerRefusesClientCertificateOfAnotherCa) {
  Serve(Job());
  SecurityConfig other = Job();
  other.cert_pem = certs_->other_cert_pem;
  other.key_pem = certs_->other_key_pem;
  ExpectHandshakeFails(other, "Socket closed");
  EXPECT_TRUE(Call(Job()).ok());
}

TEST_F(SecurityTest, ServerRefusesClientWithoutCertificateUnderMutualTls) {
  Serve(Job());
  SecurityConfig anonymous = Job();
  anonymous.cert_pem.clear();
  anonymous.key_pem.clear();
  ExpectHandshakeFails(anonymous, "Socket closed");
  EXPECT_TRUE(Call(Job()).ok());
}

TEST_F(SecurityTest, ExpiredCertificatesAreRefusedOnBothSides) {
  SecurityConfig expired = Job();
  expired.cert_pem = certs_->expired_cert_pem;
  expired.key_pem = certs_->expired_key_pem;
  Serve(Job());
  ExpectHandshakeFails(expired, "Socket closed");  // the server refused the expired client
  EXPECT_TRUE(Call(Job()).ok());
  server_->Shutdown();
  Serve(expired);
  ExpectHandshakeFails(Job(), "certificate verify failed");  // the client refused the server
}

TEST_F(SecurityTest, ServerOnlyTlsAcceptsClientsWithoutCertificates) {
  SecurityConfig server = Job();
  server.ca_pem.clear();
  Serve(server);
  SecurityConfig client;
  client.ca_pem = certs_->ca_pem;
  client.token = kToken;
  EXPECT_TRUE(Call(client).ok());
}

TEST_F(SecurityTest, TokenWithoutTlsIsCheckedOnLoopback) {
  SecurityConfig token_only;
  token_only.token = kToken;
  Serve(token_only);
  EXPECT_TRUE(Call(token_only).ok());
  EXPECT_EQ(Call(SecurityConfig()).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  SecurityConfig wrong;
  wrong.token = "not the token";
  EXPECT_EQ(Call(wrong).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(TokensEqualTest, ComparesWholeTokens) {
  EXPECT_TRUE(TokensEqual("abc", "abc"));
  EXPECT_FALSE(TokensEqual("abc", "abd"));
  EXPECT_FALSE(TokensEqual("abc", "ab"));
  EXPECT_FALSE(TokensEqual("ab", "abc"));
  EXPECT_FALSE(TokensEqual("", "abc"));
}

}  // namespace
}  // namespace tessera
