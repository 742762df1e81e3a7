#include "common/rpc/shared_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

absl::Status SystemError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

void SetTimeout(int fd, int option, absl::Duration timeout) {
  const timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

}  // namespace

std::string SegmentSocketPath(const std::string& local_socket) {
  if (local_socket.empty()) return "";
  absl::string_view base = local_socket;
  absl::ConsumeSuffix(&base, ".sock");
  return absl::StrCat(base, ".shm.sock");
}

absl::StatusOr<std::shared_ptr<SharedMemory>> SharedMemory::Create(size_t bytes,
                                                                   absl::string_view what) {
  if (bytes == 0) return absl::InvalidArgumentError(absl::StrCat(what, ": an empty segment"));
  const int memfd = memfd_create("tessera-segment", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0) return SystemError(absl::StrCat(what, ": memfd_create"));
  if (ftruncate(memfd, static_cast<off_t>(bytes)) != 0 ||
      fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    const absl::Status error =
        SystemError(absl::StrCat(what, ": sizing and sealing ", bytes, " bytes"));
    close(memfd);
    return error;
  }
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  if (data == MAP_FAILED) {
    const absl::Status error = SystemError(absl::StrCat(what, ": mapping ", bytes, " bytes"));
    close(memfd);
    return error;
  }
  return std::shared_ptr<SharedMemory>(new SharedMemory(memfd, static_cast<char*>(data), bytes));
}

SharedMemory::~SharedMemory() {
  munmap(data_, size_);
  close(fd_);
}

int64_t SharedMemory::OffsetOf(const void* p, size_t bytes) const {
  const auto at = reinterpret_cast<uintptr_t>(p);
  const auto begin = reinterpret_cast<uintptr_t>(data_);
  if (at < begin || at - begin > size_ || bytes > size_ - (at - begin)) return -1;
  return static_cast<int64_t>(at - begin);
}

absl::StatusOr<std::unique_ptr<SharedSegment>> SharedSegment::Create(const std::string& socket_path,
                                                                     size_t bytes,
                                                                     int32_t worker_task,
                                                                     absl::Duration timeout) {
  ASSIGN_OR_RETURN(
      std::shared_ptr<SharedMemory> memory,
      SharedMemory::Create(bytes, absl::StrCat("sharing memory with the ps at ", socket_path)));
  return Register(socket_path, std::move(memory), worker_task, timeout);
}

absl::StatusOr<std::unique_ptr<SharedSegment>> SharedSegment::Register(
    const std::string& socket_path, std::shared_ptr<SharedMemory> memory, int32_t worker_task,
    absl::Duration timeout) {
  const std::string context = absl::StrCat("sharing memory with the ps at ", socket_path);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(context, ": the path is longer than ",
                                                   sizeof(address.sun_path) - 1, " bytes"));
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  const int memfd = memory->fd();
  const size_t bytes = memory->size();
  std::unique_ptr<SharedSegment> segment(new SharedSegment(std::move(memory)));

  const int connection = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (connection < 0) {
    return SystemError(absl::StrCat(context, ": socket"));
  }
  segment->connection_ = connection;
  SetTimeout(connection, SO_SNDTIMEO, timeout);
  SetTimeout(connection, SO_RCVTIMEO, timeout);
  if (connect(connection, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    const std::string text = absl::StrCat(context, ": connect: ", std::strerror(error));
    return error == ENOENT || error == ECONNREFUSED ? absl::UnavailableError(text)
                                                    : absl::InternalError(text);
  }

  SegmentRequest request;
  request.magic = kSegmentMagic;
  request.worker_task = worker_task;
  request.bytes = bytes;
  iovec io{&request, sizeof(request)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  cmsghdr* rights = CMSG_FIRSTHDR(&message);
  rights->cmsg_level = SOL_SOCKET;
  rights->cmsg_type = SCM_RIGHTS;
  rights->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(rights), &memfd, sizeof(int));
  const ssize_t sent = sendmsg(connection, &message, MSG_NOSIGNAL);
  const int send_error = errno;
  SegmentAnswer answer;
  // A ps that refuses at once (too many segments) may have answered and
  // closed before the request went out: its answer says why.
  const ssize_t received = recv(connection, &answer, sizeof(answer), 0);
  if (sent != static_cast<ssize_t>(sizeof(request)) &&
      received != static_cast<ssize_t>(sizeof(answer))) {
    errno = send_error;
    return SystemError(absl::StrCat(context, ": sending the segment"));
  }
  if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return absl::UnavailableError(
        absl::StrCat(context, ": no answer within ", absl::FormatDuration(timeout)));
  }
  if (received != static_cast<ssize_t>(sizeof(answer))) {
    return absl::UnavailableError(absl::StrCat(context, ": the ps closed the connection"));
  }
  if (answer.id == 0) {
    answer.error[sizeof(answer.error) - 1] = '\0';
    return absl::FailedPreconditionError(absl::StrCat(context, ": refused: ", answer.error));
  }
  segment->id_ = answer.id;
  return segment;
}

SharedSegment::~SharedSegment() {
  if (connection_ >= 0) close(connection_);
}

absl::StatusOr<std::unique_ptr<MappedSegment>> MappedSegment::Map(int fd, uint64_t max_bytes) {
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  const int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    return absl::FailedPreconditionError("the descriptor is not a sealable memory file (memfd)");
  }
  if ((seals & F_SEAL_SHRINK) == 0) {
    return absl::FailedPreconditionError("the memory file is not sealed against shrinking");
  }
  if ((seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0) {
    return absl::FailedPreconditionError("the memory file is sealed against writing");
  }
  struct stat info {};
  if (fstat(fd, &info) != 0) return SystemError("fstat of the memory file");
  if (info.st_size <= 0 || static_cast<uint64_t>(info.st_size) > max_bytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("a segment of ", info.st_size, " bytes (must be 1 to ", max_bytes, ")"));
  }
  const size_t size = static_cast<size_t>(info.st_size);
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) return SystemError(absl::StrCat("mapping ", size, " bytes"));
  return std::unique_ptr<MappedSegment>(new MappedSegment(static_cast<char*>(data), size));
}

MappedSegment::~MappedSegment() { munmap(data_, size_); }

absl::Status CheckSegmentRange(size_t size, int64_t offset, int64_t bytes, const char* what) {
  if (offset < 0 || bytes < 0 || static_cast<uint64_t>(offset) > size ||
      static_cast<uint64_t>(bytes) > size - static_cast<uint64_t>(offset)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": bytes [", offset, ", +", bytes,
                                                   ") are not inside the shared segment of ", size,
                                                   " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace tessera
