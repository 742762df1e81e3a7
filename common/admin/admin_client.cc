#include "common/admin/admin_client.h"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>

#include "absl/container/node_hash_map.h"
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
      TaskStatus status{tasks[i], Hinted(FromGrpcStatus(calls[i]->status)), {}};
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
      out.push_back(Hinted(FromGrpcStatus(calls[i]->status)));
    }
    return out;
  }

 private:
  // `status` with what a failed handshake probably means appended.
  absl::Status Hinted(const absl::Status& status) const {
    const std::string hint = HandshakeHint(status.message(), security_);
    if (status.ok() || hint.empty()) return status;
    return absl::Status(status.code(), absl::StrCat(status.message(), " ", hint));
  }

  struct Peer {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<Admin::Stub> stub;
  };

  Peer& PeerFor(const std::string& address) {
    auto it = peers_.find(address);
    if (it != peers_.end()) return it->second;
    // ChannelOptions' defaults: reconnect within 200 ms - 1 s; a connection
    // attempt may take the call's whole timeout (a loaded task can be slow
    // to answer a new connection; it is not unreachable for that).
    ChannelOptions options;
    options.security = security_;
    Peer peer;
    peer.channel = NewChannel(address, options);
    peer.stub = Admin::NewStub(peer.channel);
    return peers_.emplace(address, std::move(peer)).first->second;
  }

  // Starts one call per task on one completion queue and returns when every
  // call has finished (each is bounded by `timeout`).
  //
  // gRPC makes progress on a connection (TCP connect, TLS handshake) only
  // while some thread polls, and between this admin's calls none does: a
  // reconnection attempt that the channel's backoff starts then (e.g. during
  // `wait`'s sleep between polls) starves and ends at its connect deadline as
  // "tcp handshaker shutdown", and a fail-fast call that finds the channel in
  // TRANSIENT_FAILURE fails at once with that error. A TLS handshake needs
  // several round trips, so with TLS every poll of a task that came up after
  // the first one could fail that way. So a call to a task whose channel is
  // not READY is started only once a connection attempt that began while
  // this queue was polled has ended (READY, or TRANSIENT_FAILURE with its own
  // error), or at the deadline. The call itself stays fail-fast: a task that
  // is not listening is reported with the connection error.
  template <typename Request, typename Response>
  std::vector<std::unique_ptr<Call<Request, Response>>> RunAll(
      const std::vector<TaskTarget>& tasks, const Request& request, absl::Duration timeout,
      const StartFn<Request, Response>& start) {
    grpc::CompletionQueue cq;
    const absl::Time deadline = absl::Now() + timeout;
    const auto chrono_deadline = absl::ToChronoTime(deadline);
    // Watching ends a little before the calls' deadline, so that a call
    // started then still ends with its own error, not DEADLINE_EXCEEDED.
    const auto watch_deadline =
        absl::ToChronoTime(deadline - std::min(timeout / 5, absl::Milliseconds(200)));
    const size_t n = tasks.size();
    std::vector<std::unique_ptr<Call<Request, Response>>> calls(n);
    std::vector<Peer*> peers(n);
    // Per task while its connection is watched: the state last seen, and
    // whether an attempt began (CONNECTING) while we watched.
    std::vector<grpc_connectivity_state> seen(n);
    std::vector<bool> attempt_seen(n, false);
    auto start_call = [&](size_t i) {
      auto call = std::make_unique<Call<Request, Response>>();
      call->request = request;
      call->context.set_deadline(chrono_deadline);
      call->reader = start(peers[i]->stub.get(), &call->context, call->request, &cq);
      call->reader->Finish(&call->response, &call->status, reinterpret_cast<void*>(i));
      calls[i] = std::move(call);
    };
    // Tags: i for task i's call, n + i for a state change of its channel.
    auto watch = [&](size_t i, grpc_connectivity_state state) {
      seen[i] = state;
      peers[i]->channel->NotifyOnStateChange(state, watch_deadline, &cq,
                                             reinterpret_cast<void*>(n + i));
    };
    size_t pending = 0;  // calls and watches not yet delivered
    for (size_t i = 0; i < n; ++i) {
      peers[i] = &PeerFor(tasks[i].address);
      const grpc_connectivity_state state = peers[i]->channel->GetState(/*try_to_connect=*/true);
      if (state == GRPC_CHANNEL_READY || state == GRPC_CHANNEL_SHUTDOWN) {
        start_call(i);
      } else {
        watch(i, state);
      }
      ++pending;
    }
    while (pending > 0) {
      void* tag;
      bool ok;
      if (!cq.Next(&tag, &ok)) break;
      const size_t t = reinterpret_cast<size_t>(tag);
      if (t < n) {  // a call finished
        --pending;
        continue;
      }
      const size_t i = t - n;
      const grpc_connectivity_state state = peers[i]->channel->GetState(/*try_to_connect=*/true);
      if (state == GRPC_CHANNEL_CONNECTING) attempt_seen[i] = true;
      const bool settled = state == GRPC_CHANNEL_READY || state == GRPC_CHANNEL_SHUTDOWN ||
                           (state == GRPC_CHANNEL_TRANSIENT_FAILURE && attempt_seen[i]);
      if (!ok || settled) {  // !ok: watch_deadline passed first
        start_call(i);  // replaces the watch in `pending`
      } else {
        watch(i, state);
      }
    }
    cq.Shutdown();
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
    }
    return calls;
  }

  const SecurityConfig security_;
  absl::node_hash_map<std::string, Peer> peers_;  // node: RunAll keeps pointers
};

}  // namespace

std::unique_ptr<ClusterAdmin> NewGrpcClusterAdmin(const SecurityConfig& security) {
  return std::make_unique<GrpcClusterAdmin>(security);
}

}  // namespace tessera
