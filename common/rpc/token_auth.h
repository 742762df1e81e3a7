#ifndef TESSERA_COMMON_RPC_TOKEN_AUTH_H_
#define TESSERA_COMMON_RPC_TOKEN_AUTH_H_

// The job token on the wire (docs/security.md). Clients send it as call
// metadata (kTokenMetadataKey) through call credentials, so gRPC sends it
// only over TLS or loopback connections and adds it to every call on the
// channel, generic and streaming ones included. Servers check it in gRPC
// core with an AuthMetadataProcessor: it runs on the initial metadata of
// every call, before the call is matched to a method, so a call without the
// right token ends UNAUTHENTICATED and no handler, reactor or interceptor of
// the application ever sees it (sync, async and callback alike).
//
// gRPC 1.51 shows the processor the call's metadata and the connection's
// auth context (TLS identity), not the peer's socket address; the log line
// of a refused call names the method, the client's TLS identity and user
// agent. Refusals are logged at most once per interval, with a count of the
// ones not logged (common/refusal_log.h).

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/refusal_log.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/security/credentials.h"

namespace tessera {

inline constexpr char kTokenMetadataKey[] = "tessera-job-token";

// Requires kTokenMetadataKey == `token` on every call; consumes it (handlers
// do not see it). A missing or wrong token: UNAUTHENTICATED "missing job
// token" / "wrong job token", logged as a warning through a RefusalLog.
// Non-blocking (runs on gRPC's thread). Thread-safe.
class TokenAuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  // `clock` borrowed, must outlive the server; `interval` between log lines.
  TokenAuthProcessor(std::string token, Clock* clock, absl::Duration interval);

  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  const std::string token_;
  RefusalLog log_;
};

// Call credentials that add `token` to every call.
std::shared_ptr<grpc::CallCredentials> TokenCallCredentials(const std::string& token);

// Constant-time comparison (the time taken does not tell how much matched).
bool TokensEqual(const std::string& a, const std::string& b);

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_TOKEN_AUTH_H_
