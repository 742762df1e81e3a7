#ifndef TESSERA_COMMON_RPC_GRPC_SERVER_H_
#define TESSERA_COMMON_RPC_GRPC_SERVER_H_

// Starting a daemon's gRPC server on its port, with the errors an operator
// needs: a port already in use is FAILED_PRECONDITION naming the task, the
// listen address, the cluster address and the port, never a crash.
// Thread-safe (no shared state).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc/security_config.h"
#include "grpcpp/server.h"

namespace tessera {

struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the bound port (useful with port 0)
};

// Builds and starts a server on `listen_address` ("host:port" or
// "[v6]:port", port 0 = any free port) serving `services` (borrowed; they must
// outlive the server), with Tessera's transport arguments and SO_REUSEPORT off,
// secured as `security` says (credentials.h: TLS, mutual TLS, the job token
// checked on every call; plaintext when it is empty).
// `task` ("ps:1") and `cluster_address` (may be empty) name it in errors.
// With `local_socket` (a path, local_socket.h), the server also listens
// there, with local credentials and the token's check, after
// ClaimLocalSocketPath made the path free (its error, prefixed with `task`,
// otherwise); FAILED_PRECONDITION naming it when it cannot listen there.
absl::StatusOr<StartedServer> StartGrpcServer(absl::string_view task,
                                              const std::string& listen_address,
                                              absl::string_view cluster_address,
                                              const std::vector<grpc::Service*>& services,
                                              const SecurityConfig& security = {},
                                              const std::string& local_socket = "");

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_GRPC_SERVER_H_
