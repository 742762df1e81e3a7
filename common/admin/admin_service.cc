#include "common/admin/admin_service.h"

#include <unistd.h>

#include <fstream>
#include <utility>

#include "common/logging.h"

namespace tessera {

AdminService::AdminService(StatusProvider status_provider, ShutdownCallback shutdown_callback)
    : status_provider_(std::move(status_provider)),
      shutdown_callback_(std::move(shutdown_callback)) {}

grpc::Status AdminService::GetStatus(grpc::ServerContext* /*context*/,
                                     const StatusRequest* /*request*/, StatusResponse* response) {
  *response = status_provider_();
  response->set_rss_bytes(ResidentSetBytes());
  return grpc::Status::OK;
}

grpc::Status AdminService::Shutdown(grpc::ServerContext* context, const ShutdownRequest* request,
                                    ShutdownResponse* /*response*/) {
  LOG(INFO) << "shutdown requested by " << context->peer()
            << (request->reason().empty() ? "" : ": ") << request->reason();
  shutdown_callback_(request->reason());
  return grpc::Status::OK;
}

int64_t ResidentSetBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t total_pages = 0;
  int64_t resident_pages = 0;
  if (!(statm >> total_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace tessera
