#include "common/rpc/grpc_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/chunk_coding.h"
#include "common/rpc/credentials.h"
#include "common/rpc/local_socket.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace tessera {
namespace {

// Why `host`:`port` cannot be bound, as the OS says it ("Address already in
// use"); "" when a plain bind() succeeds.
std::string BindError(const std::string& host, int port) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &addresses);
  if (rc != 0) return absl::StrCat("cannot resolve '", host, "': ", gai_strerror(rc));
  std::string error;
  for (addrinfo* a = addresses; a != nullptr && error.empty(); a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0) error = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(addresses);
  return error;
}

// "host:port" or "[v6]:port" with port in [0, 65535] (0: any free port).
absl::StatusOr<std::pair<std::string, int>> SplitListenAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad listen address '", address, "': want host:port with port in [0, 65535]"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, port);
}

}  // namespace

absl::StatusOr<StartedServer> StartGrpcServer(absl::string_view task,
                                              const std::string& listen_address,
                                              absl::string_view cluster_address,
                                              const std::vector<grpc::Service*>& services,
                                              const SecurityConfig& security,
                                              const std::string& local_socket) {
  absl::StatusOr<std::pair<std::string, int>> host_port = SplitListenAddress(listen_address);
  if (!host_port.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(task, ": ", host_port.status().message()));
  }
  if (!local_socket.empty()) {
    const absl::Status claimed = ClaimLocalSocketPath(local_socket);
    if (!claimed.ok())
      return absl::Status(claimed.code(), absl::StrCat(task, ": ", claimed.message()));
  }
  StartedServer started;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address, NewServerCredentials(security), &started.port);
  int local_port = 0;  // gRPC sets 1 when it bound the socket
  if (!local_socket.empty()) {
    builder.AddListeningPort(absl::StrCat("unix:", local_socket),
                             NewLocalSocketServerCredentials(security), &local_port);
  }
  // Without this a second server could share the port (SO_REUSEPORT).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  SetTransportServerArgs(&builder);
  for (grpc::Service* service : services) builder.RegisterService(service);
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || started.port == 0) {
    std::string why = BindError(host_port->first, host_port->second);
    if (why.empty()) why = "gRPC could not start a server there";
    return absl::FailedPreconditionError(absl::StrCat(
        task, ": cannot listen on ", listen_address,
        cluster_address.empty() ? "" : absl::StrCat(" (cluster address ", cluster_address, ")"),
        ": port ", host_port->second, ": ", why,
        why == std::strerror(EADDRINUSE) ? " (is another task or an old process still running?)"
                                         : ""));
  }
  if (!local_socket.empty() && local_port == 0) {
    started.server->Shutdown();
    started.server->Wait();
    return absl::FailedPreconditionError(
        absl::StrCat(task, ": cannot listen on the local socket ", local_socket));
  }
  return started;
}

}  // namespace tessera
