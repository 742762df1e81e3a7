#ifndef TESSERA_COMMON_RPC_LOCAL_SOCKET_H_
#define TESSERA_COMMON_RPC_LOCAL_SOCKET_H_

// Local sockets: a worker talks to a ps on its own host through a Unix domain
// socket instead of TCP (docs/security.md, "Local sockets"). Each ps listens on
// one besides its TCP port, in a directory only its user can enter (mode 0700,
// owned by the user, not a symbolic link), so no other user of the node can
// connect or read the traffic: no TLS is needed on it, and the job token is
// still checked on every call (gRPC's local credentials for UDS carry the
// call credentials and run the server's AuthMetadataProcessor). The kernel
// moves the bytes with less work than over loopback TCP, and a secured job
// pays no encryption between tasks of one host.
//
// The socket of ps task T whose cluster address has port P is DIR/psT-P.sock:
// both sides derive it from the cluster file, and the port keeps two jobs on
// one host (each holding its ports) apart in a shared directory.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tessera {

// The daemons' default directory: /tmp/tessera-<uid> (node-local /tmp).
std::string DefaultLocalSocketDir();

// The daemons' --local_socket_dir (`flag` names it in messages), prepared
// with PrepareLocalSocketDir: "auto" is DefaultLocalSocketDir(), or "" after
// a logged warning when that cannot be made private (an unusable or another
// user's /tmp/tessera-<uid> must not stop a job: the ps and the workers of
// the host all come to the same answer and use TCP); "" or "none" turn local
// sockets off (""); an absolute path is that directory, which must pass
// PrepareLocalSocketDir (its error otherwise). INVALID_ARGUMENT naming the
// flag for anything else.
absl::StatusOr<std::string> ResolveLocalSocketDir(const std::string& value, const char* flag);

// Creates `dir` (mode 0700) if it does not exist, then checks that it is a
// directory (not a symbolic link) owned by this process's user with no
// permission for group or others. FAILED_PRECONDITION naming the directory and
// the fix otherwise.
absl::Status PrepareLocalSocketDir(const std::string& dir);

// DIR/psT-P.sock.
std::string LocalSocketPath(const std::string& dir, int ps_task, int port);
// The same for ps task `ps_task` at cluster address `address` ("host:port");
// "" when `dir` is "" or the address has no port.
std::string LocalSocketPathFor(const std::string& dir, int ps_task, const std::string& address);

// Makes `path` free for a new listener: nothing there, or a stale socket left
// by a process that died (nobody accepts on it), which is removed.
// FAILED_PRECONDITION when a live process serves it or something else than a
// socket is there; INVALID_ARGUMENT when the path is too long for a Unix
// socket address (107 bytes).
absl::Status ClaimLocalSocketPath(const std::string& path);

// Whether `host` (a cluster file's host: a name or an IP literal, IPv6 with or
// without brackets) is this machine: a loopback address, or a name or address
// that resolves to an address of one of its network interfaces. False when it
// does not resolve.
bool IsLocalHost(const std::string& host);

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_LOCAL_SOCKET_H_
