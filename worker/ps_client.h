#ifndef TESSERA_WORKER_PS_CLIENT_H_
#define TESSERA_WORKER_PS_CLIENT_H_

// PsClient, the gRPC PsConnection (worker/ps_connection.h): the client of one
// parameter-server task (protos/ps_service.proto). Its class lives in
// ps_client.cc; this header shows no gRPC, so the worker's logic that makes
// clients does not see generated code either.
//
//   ASSIGN_OR_RETURN(auto ps, NewPsClient("n1:2222", {.ps_task = 1}));
//   ASSIGN_OR_RETURN(PsConnection::PullResult pulled, ps->Pull(request, destinations));
//   ASSIGN_OR_RETURN(PushResponse pushed, ps->Push(fields, names, gradients));
//
// Pull and Push move tensors on the fast path of common/rpc/chunk_coding.h: Push
// sends straight from the caller's memory (no copy), Pull copies each chunk
// once, straight into the caller's memory. Chunks hold at most 4 MiB.
//
// Failure contract (DESIGN.md): every attempt has a deadline (rpc_timeout,
// plus pull_wait for a waiting Pull); one that runs out of it fails
// DEADLINE_EXCEEDED "Push to ps 0 at n1:2222: no answer within its deadline
// of 1m (rpc_timeout_secs): Deadline Exceeded", and is not retried.
// UNAVAILABLE is retried with exponential backoff and jitter for up to
// unavailable_timeout, logging "waiting for ps N at ADDRESS (...)" every
// log_interval; every error names the RPC, the ps task and its address.
//
// One call at a time per instance, except one Push and one Pull at once
// (ps_connection.h; each has its own shared segment). A worker uses one
// PsClient per ps task and may call different instances from several threads
// (each has its own channel and TCP connection).

#include <cstdint>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/cluster/cluster_spec.h"
#include "common/rpc/chunk_sizes.h"
#include "common/rpc/security_config.h"
#include "worker/ps_connection.h"

namespace tessera {

struct PsClientOptions {
  int ps_task = 0;  // for messages
  int worker_task = 0;                                    // the caller's, for the ps's messages
  absl::Duration rpc_timeout = absl::Seconds(120);        // deadline of each attempt
  absl::Duration unavailable_timeout = absl::Minutes(5);  // UNAVAILABLE retried this long
  absl::Duration log_interval = absl::Seconds(5);         // between "waiting for" lines
  int64_t chunk_elements = kStreamChunkElements;          // Push chunk size (tests change it)
  // Added to the deadline of a Pull with min_version > 0 (SYNC, STALE), which
  // the ps holds until the other workers caught up or its sync timeout; set
  // it above that timeout so the ps's error, naming who is missing, arrives.
  absl::Duration pull_wait = absl::ZeroDuration();
  Clock* clock = nullptr;                                 // borrowed; RealClock::Get() if null
  // Optional: told what a call waits for while it retries UNAVAILABLE
  // ("ps 1 at n1:2222 (UNAVAILABLE: ...)"), and "" once the call got through.
  // Called from the calling thread.
  std::function<void(const std::string&)> on_waiting;
  // Optional, borrowed: once it is true, UNAVAILABLE is no longer retried
  // (the worker was asked to stop, and a ps that is gone must not hold it).
  const std::atomic<bool>* cancelled = nullptr;
  // TLS and the job token of the channel (common/rpc/channel.h).
  SecurityConfig security;
  // The ps's local socket (common/rpc/local_socket.h) to call through instead
  // of TCP: local credentials and the token, no TLS. Empty: TCP.
  std::string local_socket;
  // With local_socket: GRADIENT pushes and FLOAT32 pulls go through memory
  // shared with the ps (common/rpc/shared_segment.h) when the ps takes it;
  // otherwise (it refuses, or does not listen for segments) through the
  // socket, asking again at most once a minute.
  bool shared_memory = true;
  // ConnectToAllPs: the ps tasks whose cluster host is this machine are
  // called through their local socket in this directory. Empty: none.
  std::string local_socket_dir;
};

// A PsClient for the ps at `address` ("host:port"): creates the channel;
// connecting happens on the first call. INVALID_ARGUMENT for an empty address.
absl::StatusOr<std::unique_ptr<PsConnection>> NewPsClient(const std::string& address,
                                                          const PsClientOptions& options);

// One PsClient per ps task of `cluster`, in task order, each with `options`
// and its own ps_task (and local_socket, for a ps of this host when
// options.local_socket_dir is set: logged once per ps). Errors name the task
// whose address is missing.
absl::StatusOr<std::vector<std::unique_ptr<PsConnection>>> ConnectToAllPs(
    const ClusterSpec& cluster, const PsClientOptions& options);

}  // namespace tessera

#endif  // TESSERA_WORKER_PS_CLIENT_H_
