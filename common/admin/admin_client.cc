#include "common/admin/admin_client.h"

#include <functional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "common/rpc/channel.h"
#include "common/rpc/grpc_status.h"
#include "grpcpp/grpcpp.h"
#include "protos/admin.grpc.pb.h"

namespace tessera {
namespace {

// One unary call in flight: its context, request, response and final status.
template <typename Request, typename Response>
struct Call {
  grpc::ClientContext context;
  Request request;
  Response response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
};

template <typename Request, typename Response>
using StartFn = std::function<std::unique_ptr<grpc::ClientAsyncResponseReader<Response>>(
    Admin::Stub*, grpc::ClientContext*, const Request&, grpc::CompletionQueue*)>;

class GrpcClusterAdmin final : public ClusterAdmin {
 public:
  explicit GrpcClusterAdmin(const SecurityConfig& security) : security_(security) {}

  std::vector<TaskStatus> GetStatuses(const std::vector<TaskTarget>& tasks,
                                      absl::Duration timeout) override {
    StartFn<StatusRequest, StatusResponse> start =
        [](Admin::Stub* stub, grpc::ClientContext* context, const StatusRequest& request,
           grpc::CompletionQueue* cq) { return stub->AsyncGetStatus(context, request, cq); };
    auto calls = RunAll(tasks, StatusRequest(), timeout, start);
    std::vector<TaskStatus> out;
    for (size_t i = 0; i < tasks.size(); ++i) {
      TaskStatus status{tasks[i], FromGrpcStatus(calls[i]->status), {}};
      if (status.reachable()) status.response = std::move(calls[i]->response);
      out.push_back(std::move(status));
    }
    return out;
  }

  std::vector<absl::Status> Shutdown(const std::vector<TaskTarget>& tasks,
                                     absl::string_view reason, absl::Duration timeout) override {
    ShutdownRequest request;
    request.set_reason(std::string(reason));
    StartFn<ShutdownRequest, ShutdownResponse> start =
        [](Admin::Stub* stub, grpc::ClientContext* context, const ShutdownRequest& request,
           grpc::CompletionQueue* cq) { return stub->AsyncShutdown(context, request, cq); };
    auto calls = RunAll(tasks, request, timeout, start);
    std::vector<absl::Status> out;
    for (size_t i = 0; i < tasks.size(); ++i) {
      out.push_back(FromGrpcStatus(calls[i]->status));
    }
    return out;
  }

 private:

  Admin::Stub* StubFor(const std::string& address) {
    auto it = stubs_.find(address);
    if (it != stubs_.end()) return it->second.get();
    // Reconnect within 200 ms - 1 s (ChannelOptions' defaults).
    ChannelOptions options;
    options.security = security_;
    auto stub = Admin::NewStub(NewChannel(address, options));
    Admin::Stub* raw = stub.get();
    stubs_.emplace(address, std::move(stub));
    return raw;
  }

  // Starts one call per task on one completion queue and returns when every
  // call has finished (each is bounded by `timeout`).
  template <typename Request, typename Response>
  std::vector<std::unique_ptr<Call<Request, Response>>> RunAll(
      const std::vector<TaskTarget>& tasks, const Request& request, absl::Duration timeout,
      const StartFn<Request, Response>& start) {
    grpc::CompletionQueue cq;
    const absl::Time deadline = absl::Now() + timeout;
    std::vector<std::unique_ptr<Call<Request, Response>>> calls;
    for (size_t i = 0; i < tasks.size(); ++i) {
      auto call = std::make_unique<Call<Request, Response>>();
      call->request = request;
      call->context.set_deadline(absl::ToChronoTime(deadline));
      call->reader = start(StubFor(tasks[i].address), &call->context, call->request, &cq);
      call->reader->Finish(&call->response, &call->status, reinterpret_cast<void*>(i));
      calls.push_back(std::move(call));
    }
    for (size_t done = 0; done < tasks.size(); ++done) {
      void* tag;
      bool ok;
      if (!cq.Next(&tag, &ok)) break;
    }
    cq.Shutdown();
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
    }
    return calls;
  }

  const SecurityConfig security_;
  absl::flat_hash_map<std::string, std::unique_ptr<Admin::Stub>> stubs_;
};

}  // namespace

std::unique_ptr<ClusterAdmin> NewGrpcClusterAdmin(const SecurityConfig& security) {
  return std::make_unique<GrpcClusterAdmin>(security);
}

}  // namespace tessera
