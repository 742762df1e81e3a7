#include "common/rpc/local_socket.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

bool IsLoopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&ip)) return true;
    return IN6_IS_ADDR_V4MAPPED(&ip) && ip.s6_addr[12] == 127;
  }
  return false;
}

bool SameAddress(const sockaddr* a, const sockaddr* b) {
  if (a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b)->sin_addr.s_addr;
  }
  if (a->sa_family == AF_INET6) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(b)->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

}  // namespace

std::string DefaultLocalSocketDir() { return absl::StrCat("/tmp/tessera-", geteuid()); }

absl::StatusOr<std::string> ResolveLocalSocketDir(const std::string& value, const char* flag) {
  if (value == "auto") {
    const std::string dir = DefaultLocalSocketDir();
    const absl::Status prepared = PrepareLocalSocketDir(dir);
    if (prepared.ok()) return dir;
    LOG(WARNING) << "no local sockets (the ps tasks of this host are called over TCP): "
                 << prepared.message();
    return std::string();
  }
  if (value.empty() || value == "none") return std::string();
  if (value.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", value, ": want auto, none or an absolute path"));
  }
  RETURN_IF_ERROR(PrepareLocalSocketDir(value));
  return value;
}

absl::Status PrepareLocalSocketDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("local socket directory ", dir, ": cannot create it: ", std::strerror(errno),
                     " (choose another with --local_socket_dir, or none)"));
  }
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("local socket directory ", dir, ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("local socket directory ", dir, " is not a directory",
                     S_ISLNK(st.st_mode) ? " (a symbolic link, refused)" : "",
                     "; remove it or choose another with --local_socket_dir"));
  }
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("local socket directory ", dir, " belongs to uid ", st.st_uid,
                     ", not to this user (uid ", geteuid(),
                     "): another user could reach the sockets; choose another with "
                     "--local_socket_dir"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "local socket directory %s has mode %04o: other users could reach the sockets; want "
        "0700 (chmod 700 %s)",
        dir, st.st_mode & 07777, dir));
  }
  return absl::OkStatus();
}

std::string LocalSocketPath(const std::string& dir, int ps_task, int port) {
  return absl::StrCat(dir, "/ps", ps_task, "-", port, ".sock");
}

std::string LocalSocketPathFor(const std::string& dir, int ps_task, const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (dir.empty() || colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port <= 0) {
    return "";
  }
  return LocalSocketPath(dir, ps_task, port);
}

absl::Status ClaimLocalSocketPath(const std::string& path) {
  sockaddr_un address{};
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "local socket ", path, " is ", path.size(), " bytes long; a Unix socket path has at most ",
        sizeof(address.sun_path) - 1, " (choose a shorter --local_socket_dir)"));
  }
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("local socket ", path, ": ", std::strerror(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("local socket ", path, ": something else than a socket is there"));
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("local socket ", path, ": socket(): ", std::strerror(errno)));
  }
  const bool live = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  if (live) {
    return absl::FailedPreconditionError(
        absl::StrCat("local socket ", path,
                     " is served by another running process (is an old ps still running?)"));
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::FailedPreconditionError(absl::StrCat(
        "local socket ", path, ": cannot remove the stale socket: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

bool IsLocalHost(const std::string& host_arg) {
  std::string host = host_arg;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return false;
  if (host == "localhost") return true;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* resolved = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &resolved) != 0) return false;
  ifaddrs* interfaces = nullptr;
  if (getifaddrs(&interfaces) != 0) interfaces = nullptr;
  bool local = false;
  for (const addrinfo* a = resolved; a != nullptr && !local; a = a->ai_next) {
    if (IsLoopback(a->ai_addr)) {
      local = true;
      break;
    }
    for (const ifaddrs* i = interfaces; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr != nullptr && SameAddress(a->ai_addr, i->ifa_addr)) {
        local = true;
        break;
      }
    }
  }
  freeaddrinfo(resolved);
  if (interfaces != nullptr) freeifaddrs(interfaces);
  return local;
}

}  // namespace tessera
