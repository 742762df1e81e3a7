// Shared memory (shared_segment.h, segment_server.h): a registration seen from
// both sides, its end with the worker's connection, and every refusal: an
// unsealed or plain file, no or two descriptors, a wrong size or magic, too
// large, too many, another user's process; a segment's ranges.

#include "common/rpc/shared_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc/segment_server.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(5);

// A short directory under /tmp (TEST_TMPDIR is too deep for a socket path).
std::string ShortTempDir() {
  char pattern[] = "/tmp/tessera_segment_test_XXXXXX";
  const char* made = mkdtemp(pattern);
  return made != nullptr ? made : "/tmp";
}

std::unique_ptr<SegmentServer> StartServer(const std::string& path, uint64_t max_bytes = 1 << 20,
                                           int max_segments = 8) {
  absl::StatusOr<std::unique_ptr<SegmentServer>> server = SegmentServer::Start(
      {.path = path, .max_segment_bytes = max_bytes, .max_segments = max_segments});
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// Sends `request` with `fds` (any number) as a registration and returns the
// answer; the connection is closed afterwards.
SegmentAnswer RawRegister(const std::string& path, const SegmentRequest& request,
                          const std::vector<int>& fds,
                          size_t request_bytes = sizeof(SegmentRequest)) {
  SegmentAnswer answer;
  const int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (connect(s, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    std::strncpy(answer.error, "connect failed", sizeof(answer.error) - 1);
    close(s);
    return answer;
  }
  iovec io{const_cast<SegmentRequest*>(&request), request_bytes};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * std::max<size_t>(fds.size(), 1)));
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  if (!fds.empty()) {
    message.msg_control = control.data();
    message.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* rights = CMSG_FIRSTHDR(&message);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(rights), fds.data(), sizeof(int) * fds.size());
  }
  sendmsg(s, &message, MSG_NOSIGNAL);
  const timeval tv{5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (recv(s, &answer, sizeof(answer), 0) != sizeof(answer)) {
    std::strncpy(answer.error, "no answer", sizeof(answer.error) - 1);
  }
  close(s);
  return answer;
}

int MemoryFile(size_t bytes, unsigned seals) {
  const int fd = memfd_create("segment_test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
  if (seals != 0) EXPECT_EQ(fcntl(fd, F_ADD_SEALS, seals), 0);
  return fd;
}

SegmentRequest Request(uint64_t bytes) {
  SegmentRequest request;
  request.magic = kSegmentMagic;
  request.worker_task = 1;
  request.bytes = bytes;
  return request;
}

// Waits (at most kTimeout) until the server holds `count` segments.
bool WaitForSegments(const SegmentServer& server, int count) {
  const absl::Time deadline = absl::Now() + kTimeout;
  while (server.segments() != count && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(5));
  return server.segments() == count;
}

TEST(SegmentSocketPath, SitsBesideTheLocalSocket) {
  EXPECT_EQ(SegmentSocketPath("/tmp/tessera-0/ps1-2222.sock"), "/tmp/tessera-0/ps1-2222.shm.sock");
  EXPECT_EQ(SegmentSocketPath(""), "");
}

TEST(SharedSegment, BothSidesSeeTheSameBytesUntilTheWorkerLetsGo) {
  const std::string path = ShortTempDir() + "/ps0-1.shm.sock";
  std::unique_ptr<SegmentServer> server = StartServer(path);
  ASSERT_NE(server, nullptr);
  absl::StatusOr<std::unique_ptr<SharedSegment>> worker =
      SharedSegment::Create(path, 8192, /*worker_task=*/3, kTimeout);
  ASSERT_TRUE(worker.ok()) << worker.status();
  ASSERT_NE((*worker)->id(), 0u);
  EXPECT_EQ((*worker)->size(), 8192u);
  std::shared_ptr<const MappedSegment> mapped = server->Find((*worker)->id());
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(mapped->size(), 8192u);
  EXPECT_EQ(server->Find((*worker)->id() + 1), nullptr);

  std::memcpy((*worker)->data() + 100, "gradient", 8);
  absl::StatusOr<char*> range = mapped->Range(100, 8, "test");
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(std::string(*range, 8), "gradient");
  std::memcpy(*range, "values!!", 8);
  EXPECT_EQ(std::string((*worker)->data() + 100, 8), "values!!");

  worker->reset();  // closes the registration
  EXPECT_TRUE(WaitForSegments(*server, 0));
  EXPECT_EQ(server->Find(1), nullptr);
  // A call that still held the mapping keeps it valid.
  EXPECT_EQ(std::string(*mapped->Range(100, 8, "test"), 8), "values!!");
}

TEST(SharedSegment, NobodyListeningIsUnavailable) {
  const std::string path = ShortTempDir() + "/nobody.shm.sock";
  absl::StatusOr<std::unique_ptr<SharedSegment>> worker =
      SharedSegment::Create(path, 4096, 0, kTimeout);
  EXPECT_EQ(worker.status().code(), absl::StatusCode::kUnavailable) << worker.status();
  EXPECT_NE(worker.status().message().find(path), std::string::npos);
}

TEST(SharedSegment, TooLargeIsRefusedWithTheLimit) {
  const std::string path = ShortTempDir() + "/ps0-1.shm.sock";
  std::unique_ptr<SegmentServer> server = StartServer(path, /*max_bytes=*/4096);
  absl::StatusOr<std::unique_ptr<SharedSegment>> worker =
      SharedSegment::Create(path, 8192, 0, kTimeout);
  EXPECT_EQ(worker.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(worker.status().message().find("a segment of 8192 bytes (must be 1 to 4096)"),
            std::string::npos)
      << worker.status();
  EXPECT_EQ(server->segments(), 0);
}

TEST(SharedSegment, BeyondMaxSegmentsIsRefused) {
  const std::string path = ShortTempDir() + "/ps0-1.shm.sock";
  std::unique_ptr<SegmentServer> server = StartServer(path, 1 << 20, /*max_segments=*/1);
  absl::StatusOr<std::unique_ptr<SharedSegment>> first =
      SharedSegment::Create(path, 4096, 0, kTimeout);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(WaitForSegments(*server, 1));
  absl::StatusOr<std::unique_ptr<SharedSegment>> second =
      SharedSegment::Create(path, 4096, 1, kTimeout);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("holds 1 shared segments already"), std::string::npos)
      << second.status();
  first->reset();
  ASSERT_TRUE(WaitForSegments(*server, 0));
  EXPECT_TRUE(SharedSegment::Create(path, 4096, 1, kTimeout).ok());
}

TEST(SegmentServer, RefusesBadRegistrations) {
  const std::string path = ShortTempDir() + "/ps0-1.shm.sock";
  std::unique_ptr<SegmentServer> server = StartServer(path);
  ASSERT_NE(server, nullptr);
  struct Case {
    std::string name;
    SegmentAnswer answer;
    std::string expected;
  };
  std::vector<Case> cases;
  {
    const int fd = MemoryFile(4096, 0);
    cases.push_back(
        {"unsealed", RawRegister(path, Request(4096), {fd}), "not sealed against shrinking"});
    close(fd);
  }
  {
    const int fd = MemoryFile(4096, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
    cases.push_back(
        {"write-sealed", RawRegister(path, Request(4096), {fd}), "sealed against writing"});
    close(fd);
  }
  {
    const std::string file = ShortTempDir() + "/plain";
    const int fd = open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    ASSERT_EQ(ftruncate(fd, 4096), 0);
    cases.push_back(
        {"plain file", RawRegister(path, Request(4096), {fd}), "not a sealable memory file"});
    close(fd);
  }
  {
    const int fd = MemoryFile(4096, F_SEAL_SHRINK);
    cases.push_back({"wrong size", RawRegister(path, Request(8192), {fd}),
                     "the registration says 8192 bytes, the file has 4096"});
    SegmentRequest bad = Request(4096);
    bad.magic = 7;
    cases.push_back({"wrong magic", RawRegister(path, bad, {fd}), "not a segment registration"});
    cases.push_back({"short message", RawRegister(path, Request(4096), {fd}, 4),
                     "not a segment registration (4 bytes)"});
    cases.push_back({"two descriptors", RawRegister(path, Request(4096), {fd, fd}),
                     "exactly one descriptor, got 2"});
    SegmentRequest negative = Request(4096);
    negative.worker_task = -1;
    cases.push_back({"negative task", RawRegister(path, negative, {fd}), "worker task -1"});
    close(fd);
  }
  cases.push_back(
      {"no descriptor", RawRegister(path, Request(4096), {}), "exactly one descriptor, got 0"});
  {
    const int fd = MemoryFile(0, F_SEAL_SHRINK);
    cases.push_back({"empty", RawRegister(path, Request(0), {fd}), "a segment of 0 bytes"});
    close(fd);
  }
  for (Case& c : cases) {
    c.answer.error[sizeof(c.answer.error) - 1] = '\0';
    EXPECT_EQ(c.answer.id, 0u) << c.name;
    EXPECT_NE(std::string(c.answer.error).find(c.expected), std::string::npos)
        << c.name << ": " << c.answer.error;
  }
  EXPECT_EQ(server->segments(), 0);
  // And it still serves.
  EXPECT_TRUE(SharedSegment::Create(path, 4096, 0, kTimeout).ok());
}

// Descriptors open in this process (the server runs in it too).
int OpenDescriptors() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

TEST(SegmentServer, AnEmptyMessageWithADescriptorLeaksNothing) {
  const std::string path = ShortTempDir() + "/ps0-1.shm.sock";
  std::unique_ptr<SegmentServer> server = StartServer(path);
  ASSERT_NE(server, nullptr);
  const int before = OpenDescriptors();
  const int fd = MemoryFile(4096, F_SEAL_SHRINK);
  const SegmentAnswer answer = RawRegister(path, Request(4096), {fd}, /*request_bytes=*/0);
  close(fd);
  EXPECT_EQ(answer.id, 0u);
  const absl::Time deadline = absl::Now() + kTimeout;
  while (OpenDescriptors() != before && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(OpenDescriptors(), before);
  EXPECT_EQ(server->segments(), 0);
  EXPECT_TRUE(SharedSegment::Create(path, 4096, 0, kTimeout).ok());
}

TEST(SegmentServer, RefusesAnotherUsersProcess) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run a process as another user";
  const std::string dir = ShortTempDir();
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);  // the production directory is 0700: two checks
  const std::string path = dir + "/ps0-1.shm.sock";
  std::unique_ptr<SegmentServer> server = StartServer(path);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(chmod(path.c_str(), 0777), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(2);
    absl::StatusOr<std::unique_ptr<SharedSegment>> segment =
        SharedSegment::Create(path, 4096, 0, kTimeout);
    const bool refused =
        !segment.ok() &&
        segment.status().message().find("uid 65534 is not the ps's uid 0") != std::string::npos;
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: could not change user; 1: not refused as expected";
  EXPECT_EQ(server->segments(), 0);
}

TEST(MappedSegment, RangesOutsideAreInvalid) {
  const std::string path = ShortTempDir() + "/ps0-1.shm.sock";
  std::unique_ptr<SegmentServer> server = StartServer(path);
  absl::StatusOr<std::unique_ptr<SharedSegment>> worker =
      SharedSegment::Create(path, 4096, 0, kTimeout);
  ASSERT_TRUE(worker.ok()) << worker.status();
  std::shared_ptr<const MappedSegment> mapped = server->Find((*worker)->id());
  ASSERT_NE(mapped, nullptr);
  EXPECT_TRUE(mapped->Range(0, 4096, "x").ok());
  EXPECT_TRUE(mapped->Range(4096, 0, "x").ok());
  for (auto [offset, bytes] :
       std::vector<std::pair<int64_t, int64_t>>{{-1, 4},
                                                {0, 4097},
                                                {4096, 1},
                                                {4097, 0},
                                                {8, -8},
                                                {int64_t{1} << 62, int64_t{1} << 62}}) {
    absl::StatusOr<char*> range = mapped->Range(offset, bytes, "Push of block b");
    EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument) << offset << " " << bytes;
    EXPECT_NE(range.status().message().find("Push of block b: bytes ["), std::string::npos);
  }
}

}  // namespace
}  // namespace tessera
