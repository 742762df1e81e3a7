#include "common/rpc/test_certs.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

absl::Status Run(const std::string& command) {
  const std::string quiet = absl::StrCat("(", command, ") > /dev/null 2>&1");
  if (std::system(quiet.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("test certificates: failed: ", command));
  }
  return absl::OkStatus();
}

// NAME.key and NAME.csr in `dir`, then NAME.pem signed by CA (ca.key) for
// `days` days (negative: already expired).
absl::Status SignedCert(const std::string& dir, const std::string& name, const std::string& ca,
                        int days) {
  const std::string d = absl::StrCat("'", dir, "'/");
  RETURN_IF_ERROR(Run(absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                                   "-nodes -keyout ", d, name, ".key -out ", d, name,
                                   ".csr -subj /CN=tessera-test")));
  RETURN_IF_ERROR(Run(absl::StrCat("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n"
                                   "extendedKeyUsage=serverAuth,clientAuth\\n' > ",
                                   d, name, ".ext")));
  return Run(absl::StrCat("openssl x509 -req -in ", d, name, ".csr -CA ", d, ca, ".pem -CAkey ", d,
                          ca, ".key -CAcreateserial -days ", days, " -extfile ", d, name,
                          ".ext -out ", d, name, ".pem"));
}

absl::Status Ca(const std::string& dir, const std::string& name) {
  const std::string d = absl::StrCat("'", dir, "'/");
  return Run(absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                          "-keyout ", d, name, ".key -out ", d, name, ".pem -days 2 -subj /CN=",
                          name));
}

}  // namespace

absl::StatusOr<TestCerts> MakeTestCerts(const std::string& dir) {
  RETURN_IF_ERROR(Run(absl::StrCat("mkdir -p '", dir, "'")));
  RETURN_IF_ERROR(Ca(dir, "ca"));
  RETURN_IF_ERROR(Ca(dir, "other_ca"));
  RETURN_IF_ERROR(SignedCert(dir, "cert", "ca", 2));
  RETURN_IF_ERROR(SignedCert(dir, "other_cert", "other_ca", 2));
  RETURN_IF_ERROR(SignedCert(dir, "expired_cert", "ca", -1));
  TestCerts certs;
  certs.dir = dir;
  auto read = [&dir](const char* name) { return ReadFileToString(JoinPath(dir, name)); };
  ASSIGN_OR_RETURN(certs.ca_pem, read("ca.pem"));
  ASSIGN_OR_RETURN(certs.cert_pem, read("cert.pem"));
  ASSIGN_OR_RETURN(certs.key_pem, read("cert.key"));
  ASSIGN_OR_RETURN(certs.other_ca_pem, read("other_ca.pem"));
  ASSIGN_OR_RETURN(certs.other_cert_pem, read("other_cert.pem"));
  ASSIGN_OR_RETURN(certs.other_key_pem, read("other_cert.key"));
  ASSIGN_OR_RETURN(certs.expired_cert_pem, read("expired_cert.pem"));
  ASSIGN_OR_RETURN(certs.expired_key_pem, read("expired_cert.key"));
  return certs;
}

}  // namespace tessera
