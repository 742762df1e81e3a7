#ifndef TESSERA_WORKER_WORKER_SERVER_H_
#define TESSERA_WORKER_WORKER_SERVER_H_

// The worker's own gRPC server: the Admin service on the worker's cluster
// address, so `tessera_ctl status` sees it and `tessera_ctl shutdown` stops it.
// Lifecycle: Create() binds and starts (a port in use is an error naming task,
// address and port); the destructor stops serving. Thread-safe.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/admin/admin_service.h"
#include "common/rpc/security_config.h"
#include "grpcpp/server.h"

namespace tessera {

class WorkerServer {
 public:
  // `status` answers GetStatus; `on_shutdown` is called (and must return at
  // once) when Admin.Shutdown arrives. `security`: TLS and the job token
  // (common/rpc/credentials.h).
  static absl::StatusOr<std::unique_ptr<WorkerServer>> Create(
      int task, const std::string& listen_address, const std::string& cluster_address,
      AdminService::StatusProvider status, AdminService::ShutdownCallback on_shutdown,
      const SecurityConfig& security = {});
  ~WorkerServer();

  int port() const { return port_; }

 private:
  WorkerServer(AdminService::StatusProvider status, AdminService::ShutdownCallback on_shutdown);

  AdminService admin_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_WORKER_SERVER_H_
