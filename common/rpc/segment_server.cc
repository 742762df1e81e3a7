#include "common/rpc/segment_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/rpc/local_socket.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

void Answer(int connection, uint64_t id, const std::string& error) {
  SegmentAnswer answer;
  answer.id = id;
  std::strncpy(answer.error, error.c_str(), sizeof(answer.error) - 1);
  send(connection, &answer, sizeof(answer), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// The descriptors an SCM_RIGHTS message brought, all of them (so that each
// can be closed).
std::vector<int> ReceivedDescriptors(msghdr* message) {
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(message); c != nullptr; c = CMSG_NXTHDR(message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.push_back(fd);
    }
  }
  return fds;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SegmentServer>> SegmentServer::Start(
    const SegmentServerOptions& options) {
  const std::string context = absl::StrCat("shared-memory socket ", options.path);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (options.path.empty() || options.path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(context, ": the path must have 1 to ",
                                                   sizeof(address.sun_path) - 1, " bytes"));
  }
  if (options.max_segments < 1 || options.max_segment_bytes < 1) {
    return absl::InvalidArgumentError(absl::StrCat(context,
                                                   ": max_segments and "
                                                   "max_segment_bytes must be >= 1"));
  }
  RETURN_IF_ERROR(ClaimLocalSocketPath(options.path));
  std::memcpy(address.sun_path, options.path.c_str(), options.path.size() + 1);
  const int listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener < 0)
    return absl::InternalError(absl::StrCat(context, ": socket: ", strerror(errno)));
  if (bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener, 64) != 0) {
    const std::string text = absl::StrCat(context, ": bind/listen: ", strerror(errno));
    close(listener);
    return absl::FailedPreconditionError(text);
  }
  const int wakeup = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeup < 0) {
    close(listener);
    unlink(options.path.c_str());
    return absl::InternalError(absl::StrCat(context, ": eventfd: ", strerror(errno)));
  }
  std::unique_ptr<SegmentServer> server(new SegmentServer(options, listener, wakeup));
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

SegmentServer::~SegmentServer() {
  stop_.store(true);
  const uint64_t one = 1;
  if (write(wakeup_, &one, sizeof(one)) != sizeof(one)) {
    LOG(WARNING) << "shared-memory socket " << options_.path << ": waking its thread failed";
  }
  thread_.join();
  close(wakeup_);
  close(listener_);
  unlink(options_.path.c_str());
}

std::shared_ptr<const MappedSegment> SegmentServer::Find(uint64_t id) const {
  absl::MutexLock lock(&mu_);
  auto it = segments_.find(id);
  return it == segments_.end() ? nullptr : it->second;
}

int SegmentServer::segments() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(segments_.size());
}

void SegmentServer::Serve() {
  struct Connection {
    int fd;
    uint64_t id;  // 0 until registered
  };
  std::vector<Connection> connections;
  std::vector<pollfd> polled;
  // After an accept that failed for want of descriptors or memory, the
  // listener rests a while (its connection stays queued: polling it at once
  // would spin).
  absl::Time listener_rests_until = absl::InfinitePast();
  absl::Time last_accept_log = absl::InfinitePast();
  while (!stop_.load()) {
    polled.clear();
    polled.push_back({wakeup_, POLLIN, 0});
    const bool listening = absl::Now() >= listener_rests_until;
    // fd -1: poll skips it, and its revents stay 0.
    polled.push_back({listening ? listener_ : -1, POLLIN, 0});
    for (const Connection& c : connections) polled.push_back({c.fd, POLLIN, 0});
    // Bounded, so that a stop is seen even if waking the thread failed.
    if (poll(polled.data(), polled.size(), listening ? 1000 : 100) < 0) {
      if (errno == EINTR) continue;
      LOG(ERROR) << "shared-memory socket " << options_.path << ": poll: " << strerror(errno)
                 << "; no more registrations";
      break;
    }
    if (polled[0].revents != 0) break;
    // Connections first (their indexes in `polled` are 2 + i), then accept.
    std::vector<Connection> open;
    for (size_t i = 0; i < connections.size(); ++i) {
      Connection c = connections[i];
      const short events = polled[2 + i].revents;
      if (events == 0) {
        open.push_back(c);
        continue;
      }
      if (c.id == 0 && (events & POLLIN) != 0) {
        c.id = Register(c.fd, /*full=*/segments() >= options_.max_segments);
        if (c.id != 0) {
          open.push_back(c);
          continue;
        }
      } else if (c.id != 0) {
        Remove(c.id);  // the worker closed it (or broke the protocol): the registration ends
      }
      close(c.fd);
    }
    connections = std::move(open);
    if (polled[1].revents != 0) {
      // Refusals over max_segments are answered once the request came (an
      // answer to a connection closed before its request went out is lost);
      // beyond twice that many connections at once, they are closed unanswered.
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0 && static_cast<int>(connections.size()) >= 2 * options_.max_segments) {
        close(fd);
      } else if (fd >= 0) {
        connections.push_back({fd, 0});
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                 errno != ECONNABORTED) {
        if (absl::Now() - last_accept_log >= absl::Seconds(10)) {
          LOG(WARNING) << "shared-memory socket " << options_.path
                       << ": accept: " << strerror(errno) << " (new registrations wait)";
          last_accept_log = absl::Now();
        }
        listener_rests_until = absl::Now() + absl::Milliseconds(100);
      }
    }
  }
  for (const Connection& c : connections) {
    if (c.id != 0) Remove(c.id);
    close(c.fd);
  }
}

uint64_t SegmentServer::Register(int connection, bool full) {
  SegmentRequest request;
  iovec io{&request, sizeof(request)};
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  const ssize_t received = recvmsg(connection, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (received < 0) return 0;
  std::vector<int> fds = ReceivedDescriptors(&message);
  if (received == 0) {  // closed before registering, or an empty message (with descriptors?)
    for (int fd : fds) close(fd);
    return 0;
  }
  ucred peer{};  // pid 0 in messages when the kernel does not say
  socklen_t length = sizeof(peer);
  const bool peer_known = getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0;
  const int peer_error = errno;
  auto refuse = [&](const std::string& reason) -> uint64_t {
    for (int fd : fds) close(fd);
    LOG(WARNING) << "shared-memory socket " << options_.path << ": refused a segment from pid "
                 << peer.pid << ": " << reason;
    Answer(connection, 0, reason);
    return 0;
  };
  if (!peer_known) return refuse(absl::StrCat("SO_PEERCRED: ", strerror(peer_error)));
  if (peer.uid != geteuid()) {
    return refuse(absl::StrCat("uid ", peer.uid, " is not the ps's uid ", geteuid()));
  }
  if (received != static_cast<ssize_t>(sizeof(request)) || request.magic != kSegmentMagic) {
    return refuse(absl::StrCat("not a segment registration (", received, " bytes)"));
  }
  if ((message.msg_flags & MSG_CTRUNC) != 0 || fds.size() != 1) {
    return refuse(absl::StrCat("a registration must carry exactly one descriptor, got ", fds.size(),
                               (message.msg_flags & MSG_CTRUNC) != 0 ? " or more" : ""));
  }
  if (full) {
    return refuse(absl::StrCat("the ps holds ", options_.max_segments, " shared segments already"));
  }
  if (request.worker_task < 0) {
    return refuse(absl::StrCat("worker task ", request.worker_task, " (must be >= 0)"));
  }
  absl::StatusOr<std::unique_ptr<MappedSegment>> segment =
      MappedSegment::Map(fds[0], options_.max_segment_bytes);
  fds.clear();  // Map closed it
  if (!segment.ok()) return refuse(std::string(segment.status().message()));
  if ((*segment)->size() != request.bytes) {
    return refuse(absl::StrCat("the registration says ", request.bytes, " bytes, the file has ",
                               (*segment)->size()));
  }
  const size_t bytes = (*segment)->size();
  const uint64_t id = Add(std::move(*segment));
  Answer(connection, id, "");
  LOG(INFO) << "worker " << request.worker_task << " (pid " << peer.pid << ") shares "
            << bytes / 1e6 << " MB of memory with this ps (segment " << id << ")";
  return id;
}

uint64_t SegmentServer::Add(std::unique_ptr<MappedSegment> segment) {
  absl::BitGen random;
  absl::MutexLock lock(&mu_);
  uint64_t id = 0;
  while (id == 0 || segments_.contains(id)) id = absl::Uniform<uint64_t>(random);
  segments_[id] = std::move(segment);
  return id;
}

void SegmentServer::Remove(uint64_t id) {
  absl::MutexLock lock(&mu_);
  segments_.erase(id);
}

}  // namespace tessera
