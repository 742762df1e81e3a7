#ifndef TESSERA_COMMON_RPC_CREDENTIALS_H_
#define TESSERA_COMMON_RPC_CREDENTIALS_H_

// gRPC credentials from a SecurityConfig (security_config.h), for the one
// server builder (grpc_server.h) and the one channel factory (channel.h).
//
// Server: TLS with the config's certificate and key, requiring and
// verifying a client certificate signed by the CA when a CA is given (mutual
// TLS); with a token, the TokenAuthProcessor (token_auth.h) checks it on
// every call. A token without TLS: gRPC's local credentials (loopback
// connections only, no encryption), which carry the same check. Neither:
// plaintext.
//
// Client: TLS verifying the server against the CA when a CA is given,
// presenting the certificate and key when set; the token as call
// credentials (sent only over TLS or loopback). A token without a CA: local
// credentials (loopback only). Neither: plaintext.
//
// Thread-safe (no state).

#include <memory>

#include "common/clock.h"
#include "common/rpc/security_config.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace tessera {

// `clock` (borrowed, outlives the server; RealClock::Get() when null) times
// the refusal log (one line per 10 s at most).
std::shared_ptr<grpc::ServerCredentials> NewServerCredentials(const SecurityConfig& config,
                                                              Clock* clock = nullptr);

std::shared_ptr<grpc::ChannelCredentials> NewChannelCredentials(const SecurityConfig& config);

// For a ps's local socket (local_socket.h), whatever the config's TLS: gRPC's
// local credentials for Unix domain sockets (no encryption; the socket's
// directory keeps other users out), with the token's check (server) and the
// token on every call (client) when the config has one.
std::shared_ptr<grpc::ServerCredentials> NewLocalSocketServerCredentials(
    const SecurityConfig& config, Clock* clock = nullptr);
std::shared_ptr<grpc::ChannelCredentials> NewLocalSocketChannelCredentials(
    const SecurityConfig& config);

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_CREDENTIALS_H_
