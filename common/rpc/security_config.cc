#include "common/rpc/security_config.h"

#include <sys/stat.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

// `flag_value` when given, else DIR/`name` when the directory holds it, else "".
std::string Choose(const std::string& flag_value, const std::string& dir, const char* name) {
  if (!flag_value.empty() || dir.empty()) return flag_value;
  const std::string path = JoinPath(dir, name);
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? path : "";
}

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  if (path.empty()) return std::string();
  ASSIGN_OR_RETURN(std::string pem, ReadFileToString(path, what));
  if (!absl::StrContains(pem, "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, ": not PEM (no -----BEGIN line)"));
  }
  return pem;
}

// "host" of "host:port", "[v6]:port" or a bare host.
absl::string_view HostOf(absl::string_view address) {
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    return close == absl::string_view::npos ? address : address.substr(1, close - 1);
  }
  const size_t colon = address.rfind(':');
  if (colon != absl::string_view::npos && address.find(':') == colon) {
    return address.substr(0, colon);
  }
  return address;
}

}  // namespace

std::string SecurityConfig::Mode() const {
  std::string mode = mutual_tls() ? "mtls" : server_tls() ? "tls" : "";
  if (has_token()) mode = mode.empty() ? "token" : mode + "+token";
  return mode.empty() ? "insecure" : mode;
}

std::string SecurityStatus(const SecurityConfig& config) {
  const std::string mode = config.Mode();
  return config.insecure && mode == "insecure" ? "insecure (--insecure)" : mode;
}

std::string DescribeSecurity(const SecurityConfig& config) {
  const std::string status = SecurityStatus(config);
  if (status != "insecure (--insecure)") return absl::StrCat("security: ", status);
  return "security: insecure (--insecure): no TLS and no job token; anyone who can reach this "
         "port can call it";
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoError(errno, "cannot read token file", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("token file ", path, ": not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "token file %s has mode %04o: others than its owner can read or write it; "
        "run: chmod 600 %s",
        path, st.st_mode & 07777, path));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, "token file"));
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
  }
  return token;
}

absl::StatusOr<SecurityConfig> LoadSecurityConfig(const SecurityFiles& files) {
  const std::string& dir = files.security_dir;
  if (!dir.empty()) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) return ErrnoError(errno, "cannot open --security_dir", dir);
    if (!S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat("--security_dir ", dir, ": not a directory"));
    }
  }
  const std::string cert = Choose(files.cert_file, dir, kCertFileName);
  const std::string key = Choose(files.key_file, dir, kKeyFileName);
  const std::string ca = Choose(files.ca_file, dir, kCaFileName);
  const std::string token = Choose(files.token_file, dir, kTokenFileName);
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a TLS certificate needs its key: got ", cert.empty() ? "a key (" + key + ") but no certificate"
                                                              : "a certificate (" + cert + ") but no key",
        " (--tls_cert, --tls_key or --security_dir with ", kCertFileName, " and ", kKeyFileName, ")"));
  }
  SecurityConfig config;
  config.insecure = files.insecure;
  ASSIGN_OR_RETURN(config.cert_pem, ReadPem(cert, "TLS certificate"));
  ASSIGN_OR_RETURN(config.key_pem, ReadPem(key, "TLS key"));
  ASSIGN_OR_RETURN(config.ca_pem, ReadPem(ca, "TLS CA certificate"));
  if (!token.empty()) {
    ASSIGN_OR_RETURN(config.token, ReadTokenFile(token));
  }
  return config;
}

bool IsLoopbackHost(absl::string_view host) {
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  return absl::AsciiStrToLower(host) == "localhost" || host == "::1" ||
         absl::StartsWith(host, "127.");
}

std::string HandshakeHint(absl::string_view error_message, const SecurityConfig& client) {
  if (absl::StrContains(error_message, "wrong version number")) {
    return client.client_tls()
               ? "(hint: the server at this address does not speak TLS: a daemon started "
                 "without --security_dir, or not a Tessera daemon)"
               : "(hint: TLS and plaintext met: give both sides the job's --security_dir)";
  }
  if (absl::StrContains(error_message, "certificate verify failed")) {
    return "(hint: the server's certificate is not signed by this client's CA (ca.pem), "
           "has expired, or does not name the host dialled: use the job's --security_dir)";
  }
  // Not "tcp handshaker shutdown": that is a connection attempt cut short by
  // the call's deadline (a slow or overloaded peer), not a refusal.
  if (absl::StrContains(error_message, "Socket closed") ||
      absl::StrContains(error_message, "Ssl handshake failed")) {
    return client.client_tls()
               ? "(hint: if this persists, the server is closing the TLS handshake: under "
                 "mutual TLS it refuses a client certificate that is missing, expired or of "
                 "another CA; its log says which: use the job's --security_dir)"
               : "(hint: if this persists, the server may require TLS: give this client the "
                 "job's --security_dir)";
  }
  return "";
}

absl::Status CheckSecurityPolicy(const SecurityConfig& config,
                                 const std::vector<std::string>& addresses,
                                 absl::string_view who) {
  std::vector<std::string> remote;
  for (const std::string& address : addresses) {
    if (!IsLoopbackHost(HostOf(address))) remote.push_back(address);
  }
  if (!remote.empty() && config.has_token() && !config.server_tls()) {
    return absl::FailedPreconditionError(absl::StrCat(
        who, ": a job token without TLS is checked on loopback connections only, and this "
        "cluster is not all loopback (", absl::StrJoin(remote, ", "),
        "): give --tls_cert and --tls_key (or --security_dir) too"));
  }
  if (remote.empty() || config.insecure) return absl::OkStatus();
  if (config.server_tls() && config.has_token()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      who, ": refusing to serve without ",
      config.server_tls() ? "a job token" : config.has_token() ? "TLS" : "TLS and a job token",
      " on a cluster that is not all loopback (", absl::StrJoin(remote, ", "),
      "): give --security_dir (or --tls_cert, --tls_key, --tls_ca and --token_file; "
      "scripts/run_local.sh and the job scripts create them, docs/security.md), or "
      "--insecure to run without"));
}

}  // namespace tessera
