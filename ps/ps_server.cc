#include "ps/ps_server.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/rpc/grpc_server.h"
#include "common/status_macros.h"

namespace tessera {

PsServer::PsServer(const PsServerOptions& options)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : RealClock::Get()),
      start_time_(clock_->Now()),
      store_({clock_, options.incarnation, options.limits}),
      metrics_(clock_),
      ps_service_(&store_, &metrics_, clock_, options.limits.max_streams_per_peer),
      admin_service_([this] { return Status(); },
                     [this](const std::string& reason) { RequestShutdown(reason); }) {}

absl::StatusOr<std::unique_ptr<PsServer>> PsServer::Create(const PsServerOptions& options) {
  RETURN_IF_ERROR(ValidatePsLimits(options.limits));
  std::unique_ptr<PsServer> server(new PsServer(options));
  if (options.shared_memory && !options.local_socket.empty()) {
    absl::StatusOr<std::unique_ptr<SegmentServer>> segments =
        SegmentServer::Start({.path = SegmentSocketPath(options.local_socket),
                              .max_segment_bytes = static_cast<uint64_t>(std::min<int64_t>(
                                  options.limits.max_bytes_held, int64_t{1} << 40))});
    if (segments.ok()) {
      server->segments_ = std::move(*segments);
      server->ps_service_.set_segments(server->segments_.get());
    } else {
      LOG(WARNING) << "no shared memory with this host's workers (they send their tensors "
                      "through the local socket): "
                   << segments.status().message();
    }
  }
  ASSIGN_OR_RETURN(StartedServer started,
                   StartGrpcServer(absl::StrCat("ps:", options.task), options.listen_address,
                                   options.address, {&server->ps_service_, &server->admin_service_},
                                   options.security, options.local_socket));
  server->server_ = std::move(started.server);
  server->port_ = started.port;
  const std::string host = options.listen_address.substr(0, options.listen_address.rfind(':'));
  absl::MutexLock lock(&server->mu_);
  server->address_ = options.address.empty()
                         ? absl::StrCat(host, ":", server->port_)
                         : options.address;
  server->state_ = State::kStarted;
  return server;
}

PsServer::~PsServer() { Stop(absl::ZeroDuration()); }

std::string PsServer::address() const {
  absl::MutexLock lock(&mu_);
  return address_;
}

PsServer::State PsServer::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

void PsServer::RequestShutdown(const std::string& reason) {
  if (shutdown_requested_.HasBeenNotified()) return;
  LOG(INFO) << "shutting down" << (reason.empty() ? "" : ": ") << reason;
  shutdown_requested_.Notify();
}

void PsServer::ShutDownWhenQuiet(const std::string& reason, absl::Duration quiet,
                                 absl::Duration grace) {
  const absl::Time deadline = clock_->Now() + grace;
  int64_t requests = this->requests();
  absl::Time last_request = clock_->Now();
  while (!shutdown_requested() && clock_->Now() < deadline && clock_->Now() - last_request < quiet) {
    clock_->SleepFor(absl::Milliseconds(100));
    if (this->requests() != requests) {
      requests = this->requests();
      last_request = clock_->Now();
    }
  }
  RequestShutdown(reason);
}

void PsServer::Wait(absl::Duration grace) {
  shutdown_requested_.WaitForNotification();
  Stop(grace);
}

void PsServer::Stop(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (state_ != State::kStarted) return;
    state_ = State::kStopped;
  }
  server_->Shutdown(absl::ToChronoTime(clock_->Now() + grace));
  server_->Wait();
  if (!options_.local_socket.empty()) unlink(options_.local_socket.c_str());
  segments_.reset();  // after the calls that used it; removes its socket
}

StatusResponse PsServer::Status() {
  StatusResponse status;
  const StoreSummary summary = store_.Summary();
  const PsMetricsSnapshot metrics = metrics_.TakeSnapshot();
  const absl::Time now = clock_->Now();
  status.set_job("ps");
  status.set_task(options_.task);
  status.set_address(address());
  status.set_incarnation(store_.incarnation());
  status.set_state(shutdown_requested() ? "shutting_down"
                   : summary.ready      ? "ready"
                                        : "waiting_for_chief");
  status.set_uptime_seconds(absl::ToDoubleSeconds(now - start_time_));
  status.set_version(options_.version);
  status.set_security(SecurityStatus(options_.security));
  status.set_local_socket(options_.local_socket);
  status.set_shared_segments(shared_segments());
  status.set_global_step(summary.global_step);
  status.set_num_blocks(summary.num_blocks);
  status.set_bytes_held(summary.bytes_held);
  status.set_pulls(metrics.pulls);
  status.set_pushes(metrics.pushes);
  status.set_bytes_pulled(metrics.bytes_pulled);
  status.set_bytes_pushed(metrics.bytes_pushed);
  status.set_pull_bytes_per_sec(metrics.pull_bytes_per_sec);
  status.set_push_bytes_per_sec(metrics.push_bytes_per_sec);
  for (const auto& [task, worker] : summary.workers) {
    WorkerProgress* progress = status.add_workers();
    progress->set_task(task);
    progress->set_last_step(worker.last_step);
    if (worker.last_push != absl::InfinitePast()) {
      progress->set_seconds_since(absl::ToDoubleSeconds(now - worker.last_push));
    }
    progress->set_done(worker.done);
    progress->set_pushes(worker.pushes);
    progress->set_pushes_dropped(worker.pushes_dropped);
    progress->set_missing(worker.missing);
    progress->set_holding_back(worker.holding_back);
  }
  if (!summary.created) {
    status.set_waiting_for("the chief to create the variables (CreateVariables)");
  } else if (!summary.ready) {
    status.set_waiting_for(absl::StrCat("the chief to initialize the variables (",
                                        summary.initialized_blocks, " of ", summary.num_blocks,
                                        " blocks done)"));
  } else {
    status.set_waiting_for(summary.waiting_for);
  }
  LimitsStatus* limits = status.mutable_limits();
  limits->set_max_bytes_held(options_.limits.max_bytes_held);
  limits->set_max_blocks(options_.limits.max_blocks);
  limits->set_max_block_bytes(options_.limits.max_block_bytes);
  limits->set_max_streams_per_peer(options_.limits.max_streams_per_peer);
  const StreamLimiter::Usage streams = ps_service_.stream_usage();
  limits->set_open_streams(streams.open);
  limits->set_busiest_peer(streams.busiest_peer);
  limits->set_busiest_peer_streams(streams.busiest);
  limits->set_refused(metrics.refused);
  status.set_last_error(metrics.last_error);
  status.set_last_error_age_secs(metrics.last_error_age_secs);
  return status;
}

}  // namespace tessera
