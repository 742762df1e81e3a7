#ifndef TESSERA_COMMON_RPC_SECURITY_CONFIG_H_
#define TESSERA_COMMON_RPC_SECURITY_CONFIG_H_

// How a Tessera process secures its RPCs (docs/security.md): the PEM
// certificates and the job token it read at start, and the policy that
// decides whether it may run without them. Plain C++, no gRPC: the gRPC
// credentials are made from a SecurityConfig in credentials.h.
//
//   SecurityFiles files{.security_dir = "/job/security"};
//   ASSIGN_OR_RETURN(SecurityConfig config, LoadSecurityConfig(files));
//   RETURN_IF_ERROR(CheckSecurityPolicy(config, cluster_addresses));
//   LOG(INFO) << "security: " << config.Mode();
//
// Thread-safe (values and free functions).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// File names inside a security directory (--security_dir).
inline constexpr char kCaFileName[] = "ca.pem";
inline constexpr char kCertFileName[] = "cert.pem";
inline constexpr char kKeyFileName[] = "key.pem";
inline constexpr char kTokenFileName[] = "token";

// What the flags named (--tls_cert, --tls_key, --tls_ca, --token_file,
// --security_dir, --insecure). An explicit file flag wins over the
// directory's file of that name; the directory's files that do not exist
// are simply not used.
struct SecurityFiles {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  std::string token_file;
  std::string security_dir;
  bool insecure = false;
};

// The material itself. Server: TLS when cert and key are set, mutual TLS
// (clients must present a certificate signed by `ca_pem`) when the CA is set
// too. Client: TLS when `ca_pem` is set (the server is verified against it),
// presenting cert and key when they are set. `token` non-empty: sent with
// every call (client) and required on every call (server).
struct SecurityConfig {
  std::string cert_pem;
  std::string key_pem;
  std::string ca_pem;
  std::string token;
  bool insecure = false;  // --insecure: allowed off loopback without TLS+token

  bool server_tls() const { return !cert_pem.empty() && !key_pem.empty(); }
  bool mutual_tls() const { return server_tls() && !ca_pem.empty(); }
  bool client_tls() const { return !ca_pem.empty(); }
  bool has_token() const { return !token.empty(); }
  // As a server: "mtls+token", "tls+token", "mtls", "tls", "token" or
  // "insecure" (nothing, whether or not --insecure was given).
  std::string Mode() const;
};

// Mode(), with " (--insecure)" when config.insecure and the mode is
// "insecure": what status shows.
std::string SecurityStatus(const SecurityConfig& config);

// The daemon's log line: "security: mtls+token", or for --insecure
// "security: insecure (--insecure): no TLS and no job token; ...".
std::string DescribeSecurity(const SecurityConfig& config);

// Reads the files `files` names. Errors name the file and what is wrong:
// unreadable, not PEM, a cert without its key (or the reverse), a token file
// that is empty or that others can read (its mode, e.g. 0644).
absl::StatusOr<SecurityConfig> LoadSecurityConfig(const SecurityFiles& files);

// The job token in `path`, without surrounding white space. The file must be
// a regular file that neither group nor others can read or write
// (FAILED_PRECONDITION naming the file and its mode otherwise).
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// What a failed connection's error probably means for security, as a
// sentence to append to it, or "" when `error_message` does not look like a
// handshake failure. gRPC reports a failed TLS handshake to the client only
// as "Socket closed" or an OpenSSL reason ("wrong version number",
// "certificate verify failed"), and the server's reason stays in the
// server's log; `client` is the settings the client connected with.
std::string HandshakeHint(absl::string_view error_message, const SecurityConfig& client);

// True for "localhost", "127.x.y.z", "::1" and "[::1]".
bool IsLoopbackHost(absl::string_view host);

// The safe default: when every address ("host:port") is loopback anything
// goes; otherwise a server needs TLS and a token unless config.insecure.
// `who` ("ps:0") starts the error, which says what to give.
absl::Status CheckSecurityPolicy(const SecurityConfig& config,
                                 const std::vector<std::string>& addresses,
                                 absl::string_view who);

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_SECURITY_CONFIG_H_
