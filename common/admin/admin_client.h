#ifndef TESSERA_COMMON_ADMIN_ADMIN_CLIENT_H_
#define TESSERA_COMMON_ADMIN_ADMIN_CLIENT_H_

// ClusterAdmin over gRPC: the Admin service (protos/admin.proto) of each task.

#include <memory>

#include "common/admin/cluster_admin.h"
#include "common/rpc/security_config.h"

namespace tessera {

// Returns a ClusterAdmin that keeps one channel per address, created on first
// use, secured as `security` says (common/rpc/channel.h: TLS, the job
// token). Channels retry a refused connection after at most one second, so a
// task that comes up is seen by the next poll; a connection attempt to a task
// that is slow to answer (a loaded machine) may take the call's whole timeout,
// and such a call ends DEADLINE_EXCEEDED, not UNAVAILABLE. A call to a task whose
// channel is not connected waits (within its timeout) for one connection
// attempt made while this client polls, so that the attempt (a TLS handshake
// takes several round trips) is not starved; the call itself does not wait
// for the channel to be ready: a task that is not listening fails with
// UNAVAILABLE, whose message names the connection error.
std::unique_ptr<ClusterAdmin> NewGrpcClusterAdmin(const SecurityConfig& security = {});

}  // namespace tessera

#endif  // TESSERA_COMMON_ADMIN_ADMIN_CLIENT_H_
