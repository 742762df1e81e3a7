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

struct ChannelOptions {
  // How fast a channel tries again after a connection attempt failed (a
  // refused connection fails at once): from initial_reconnect_backoff,
  // growing 1.6 times per attempt up to max_reconnect_backoff (gRPC's
  // defaults grow to 2 minutes; a restarted ps must be seen within seconds).
  absl::Duration initial_reconnect_backoff = absl::Milliseconds(200);
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  // How long one connection attempt (TCP connect, TLS handshake, the peer's
  // first HTTP/2 frame) may take at least before it is given up as
  // UNAVAILABLE "connection attempt timed out before receiving SETTINGS
  // frame" (gRPC's GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, despite the name). A
  // live peer on a loaded machine can take seconds; a call waits for the
  // attempt within its own deadline. Default: gRPC's, 20 s.
  absl::Duration min_connect_timeout = absl::Seconds(20);
  SecurityConfig security;  // default: plaintext, no token
  // A ps's local socket (local_socket.h) to connect through instead of
  // `address`'s TCP port: local credentials for Unix domain sockets and the
  // token of `security` (no TLS). Empty: TCP.
  std::string local_socket;
};

// A channel to "host:port" as described above (or to options.local_socket).
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          const ChannelOptions& options);

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_CHANNEL_H_
