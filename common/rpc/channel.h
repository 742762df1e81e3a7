#ifndef TESSERA_COMMON_RPC_CHANNEL_H_
#define TESSERA_COMMON_RPC_CHANNEL_H_

// The one place where Tessera's clients open gRPC channels (the ps client,
// the admin client), so that transport settings and security are set once.
//
//   std::shared_ptr<grpc::Channel> channel = NewChannel("n1:2222", {});
//
// Every channel gets the fast path's transport arguments
// (SetTransportChannelArgs, common/rpc/chunk_coding.h) and its own subchannel
// pool: its own TCP connection and reconnect backoff, shared with no other
// channel; and the credentials of ChannelOptions::security (credentials.h:
// TLS verifying the server against the CA, the client's certificate, the job
// token on every call). Connecting happens on the first call. Thread-safe
// (no state).

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/rpc/security_config.h"
#include "grpcpp/channel.h"

namespace tessera {

// How fast a channel reconnects to a peer that went away (gRPC's defaults
// grow to 2 minutes; a restarted ps must be seen within seconds).
struct ChannelOptions {
  absl::Duration initial_reconnect_backoff = absl::Milliseconds(200);
  absl::Duration min_reconnect_backoff = absl::Milliseconds(200);
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  SecurityConfig security;  // default: plaintext, no token
};

// A channel to "host:port" as described above.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          const ChannelOptions& options);

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_CHANNEL_H_
