#ifndef TESSERA_PS_PS_SERVER_H_
#define TESSERA_PS_PS_SERVER_H_

// A parameter-server task: the variable store behind a gRPC server that serves
// the ParameterServer and Admin services on one port.
//
// Lifecycle: NEW -> STARTED -> STOPPED. Create() builds, binds and starts the
// server (a port already in use is an error naming task, address and port);
// Admin.Shutdown (or RequestShutdown) lets Wait() return, and Stop() ends
// serving. main() is:
//
//   ASSIGN_OR_RETURN(auto server, PsServer::Create(options));
//   server->Wait();  // until Admin.Shutdown, then stops
//
// Thread-safe.

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/admin/admin_service.h"
#include "common/clock.h"
#include "common/rpc/security_config.h"
#include "common/rpc/segment_server.h"
#include "grpcpp/grpcpp.h"
#include "ps/ps_limits.h"
#include "ps/ps_metrics.h"
#include "ps/ps_service.h"
#include "ps/variable_store.h"

namespace tessera {

struct PsServerOptions {
  int task = 0;
  // Where to listen, "host:port"; e.g. "0.0.0.0:2222". Port 0 picks a free
  // port (tests), read back with port().
  std::string listen_address;
  // The task's address as the cluster file gives it ("n1:2222"), for status
  // and messages. Empty: the listen address with the bound port.
  std::string address;
  std::string version = "dev";
  Clock* clock = nullptr;    // borrowed; RealClock::Get() when null
  uint64_t incarnation = 0;  // 0: random
  // TLS, mutual TLS, the job token (common/rpc/credentials.h); default plaintext.
  SecurityConfig security;
  // A Unix domain socket to listen on as well (common/rpc/local_socket.h:
  // the path, in a directory PrepareLocalSocketDir accepted), for the
  // workers of this host; a stale socket there is replaced, and the socket
  // is removed when the server stops. Empty: none.
  std::string local_socket;
  // With local_socket: also take the shared memory segments of the workers
  // of this host (common/rpc/segment_server.h) on SegmentSocketPath(local_socket),
  // so that their pushes and pulls skip the socket's copies. A socket that
  // cannot be made is logged, and the workers send bytes as before.
  bool shared_memory = true;
  // Caps on what clients may make this ps hold and open (ps/ps_limits.h);
  // Create() refuses invalid ones (INVALID_ARGUMENT naming the flag).
  PsLimits limits;
};

class PsServer {
 public:
  enum class State { kNew, kStarted, kStopped };

  static absl::StatusOr<std::unique_ptr<PsServer>> Create(const PsServerOptions& options);
  PsServer(const PsServer&) = delete;
  PsServer& operator=(const PsServer&) = delete;
  ~PsServer();  // Stop(0) if still started

  int port() const { return port_; }
  // The address the ps gives in its status (--address, or the listening host
  // with the bound port).
  std::string address() const;
  State state() const;
  VariableStore* store() { return &store_; }
  // Data-plane calls (Pull, Snapshot, Push) begun so far; rises while
  // workers train.
  int64_t requests() const { return metrics_.requests(); }
  // Shared memory segments the workers of this host have registered now
  // (common/rpc/segment_server.h); 0 without shared memory. Until Stop().
  int shared_segments() const { return segments_ != nullptr ? segments_->segments() : 0; }

  // Asks Wait() to return. Returns at once; safe from RPC handlers.
  void RequestShutdown(const std::string& reason);
  bool shutdown_requested() const { return shutdown_requested_.HasBeenNotified(); }
  // SIGTERM: keeps serving while the job winds down (the chief's final
  // checkpoint needs this ps), then RequestShutdown(reason) once no data-plane
  // request has begun for `quiet`, or after `grace` at the latest. Returns at
  // once if shutdown was already requested. Blocks; call it off RPC threads.
  void ShutDownWhenQuiet(const std::string& reason, absl::Duration quiet, absl::Duration grace);
  // Blocks until RequestShutdown, then Stop(grace).
  void Wait(absl::Duration grace = absl::Seconds(5));
  // Stops serving; in-flight RPCs get `grace` before they are cancelled.
  // Idempotent. Must not be called from an RPC handler.
  void Stop(absl::Duration grace);

  // The Admin status of this task (without rss_bytes, which AdminService adds).
  StatusResponse Status();

 private:
  explicit PsServer(const PsServerOptions& options);

  const PsServerOptions options_;
  Clock* const clock_;
  const absl::Time start_time_;
  VariableStore store_;
  PsMetrics metrics_;
  // Before the service that borrows it; null without shared memory.
  std::unique_ptr<SegmentServer> segments_;
  PsService ps_service_;
  AdminService admin_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Notification shutdown_requested_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kNew;
  // Set once the port is bound, which is after the server started serving:
  // a Status RPC may already be reading it.
  std::string address_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_PS_PS_SERVER_H_
