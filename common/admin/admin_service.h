#ifndef TESSERA_COMMON_ADMIN_ADMIN_SERVICE_H_
#define TESSERA_COMMON_ADMIN_ADMIN_SERVICE_H_

// The Admin service (protos/admin.proto) every daemon registers: GetStatus
// asks the daemon's status provider and adds the process's resident memory;
// Shutdown logs the reason and calls the daemon's shutdown callback, which must
// only signal (e.g. notify the thread waiting in main) and return at once: the
// RPC must complete before the server stops. Thread-safe when the two
// callbacks are.

#include <cstdint>
#include <functional>
#include <string>

#include "grpcpp/grpcpp.h"
#include "protos/admin.grpc.pb.h"

namespace tessera {

class AdminService final : public Admin::Service {
 public:
  using StatusProvider = std::function<StatusResponse()>;
  using ShutdownCallback = std::function<void(const std::string& reason)>;

  AdminService(StatusProvider status_provider, ShutdownCallback shutdown_callback);

  grpc::Status GetStatus(grpc::ServerContext* context, const StatusRequest* request,
                         StatusResponse* response) override;
  grpc::Status Shutdown(grpc::ServerContext* context, const ShutdownRequest* request,
                        ShutdownResponse* response) override;

 private:
  const StatusProvider status_provider_;
  const ShutdownCallback shutdown_callback_;
};

// Resident memory of this process from /proc/self/statm; 0 when unavailable.
int64_t ResidentSetBytes();

}  // namespace tessera

#endif  // TESSERA_COMMON_ADMIN_ADMIN_SERVICE_H_
