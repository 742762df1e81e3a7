#include "worker/worker_server.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/rpc/grpc_server.h"
#include "common/status_macros.h"

namespace tessera {

absl::StatusOr<std::unique_ptr<WorkerServer>> WorkerServer::Create(
    int task, const std::string& listen_address, const std::string& cluster_address,
    AdminService::StatusProvider status, AdminService::ShutdownCallback on_shutdown,
    const SecurityConfig& security) {
  std::unique_ptr<WorkerServer> server(new WorkerServer(std::move(status), std::move(on_shutdown)));
  ASSIGN_OR_RETURN(StartedServer started,
                   StartGrpcServer(absl::StrCat("worker:", task), listen_address, cluster_address,
                                   {&server->admin_service_}, security));
  server->server_ = std::move(started.server);
  server->port_ = started.port;
  return server;
}

WorkerServer::WorkerServer(AdminService::StatusProvider status,
                           AdminService::ShutdownCallback on_shutdown)
    : admin_service_(std::move(status), std::move(on_shutdown)) {}

WorkerServer::~WorkerServer() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
  }
}

}  // namespace tessera
