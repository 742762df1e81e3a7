#ifndef TESSERA_COMMON_RPC_TEST_CERTS_H_
#define TESSERA_COMMON_RPC_TEST_CERTS_H_

// Tests only: TLS material made with the openssl command (OpenSSL 3), in a
// directory of the test's temporary directory. P-256 keys, as
// scripts/tessera_security.sh makes them.
//
//   ASSIGN_OR_RETURN(TestCerts certs, MakeTestCerts(testing::TempDir() + "/certs"));
//
// Thread-compatible.

#include <string>

#include "absl/status/statusor.h"

namespace tessera {

struct TestCerts {
  std::string dir;
  std::string ca_pem;           // the job's CA
  std::string cert_pem;         // signed by ca, SAN DNS:localhost, IP:127.0.0.1
  std::string key_pem;
  std::string other_ca_pem;     // an unrelated CA
  std::string other_cert_pem;   // signed by other_ca, same SANs
  std::string other_key_pem;
  std::string expired_cert_pem; // signed by ca, same SANs, expired yesterday
  std::string expired_key_pem;
};

// Creates `dir` and the files (ca.pem/.key, cert.pem/.key, other_ca.*,
// other_cert.*, expired_cert.*). INTERNAL naming the command when openssl fails.
absl::StatusOr<TestCerts> MakeTestCerts(const std::string& dir);

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_TEST_CERTS_H_
