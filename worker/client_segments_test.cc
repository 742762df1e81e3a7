// ClientSegments: a segment per kind, made at first use and reused, larger
// when a call needs more; kept after the ps's own verdicts and let go after
// calls that ended on the client's side; a ps that takes none asked again only
// a minute later; the worker's shared tensors registered once for both kinds,
// each kind stopping to use them after a call of its own ended on this side.

#include "worker/client_segments.h"

#include <stdlib.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/rpc/segment_server.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

// Waits (at most 5 s) until `server` holds `count` segments.
bool WaitForSegments(const SegmentServer& server, int count) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (server.segments() != count && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(5));
  return server.segments() == count;
}

std::string SocketPath() {
  char pattern[] = "/tmp/tessera_client_segments_XXXXXX";  // TEST_TMPDIR is too deep
  const char* dir = mkdtemp(pattern);
  return std::string(dir != nullptr ? dir : "/tmp") + "/ps0-1.shm.sock";
}

TEST(ClientSegments, KeptAfterThePsVerdictsAndLetGoAfterTheClientsOwnEnds) {
  const std::string path = SocketPath();
  absl::StatusOr<std::unique_ptr<SegmentServer>> server =
      SegmentServer::Start({.path = path, .max_segment_bytes = 1 << 20});
  ASSERT_TRUE(server.ok()) << server.status();
  ClientSegments segments(path, 0, 1, RealClock::Get());
  SharedSegment* pull = segments.For(ClientSegments::kPull, 4096);
  ASSERT_NE(pull, nullptr);
  EXPECT_EQ(segments.For(ClientSegments::kPull, 1000), pull);  // reused
  ASSERT_NE(segments.For(ClientSegments::kPush, 4096), nullptr);
  ASSERT_TRUE(WaitForSegments(**server, 2));
  for (absl::Status verdict :
       {absl::OkStatus(), absl::InvalidArgumentError("x"), absl::NotFoundError("x"),
        absl::FailedPreconditionError("x"), absl::ResourceExhaustedError("x")}) {
    segments.AfterCall(ClientSegments::kPull, verdict);
    EXPECT_EQ(segments.For(ClientSegments::kPull, 4096), pull) << verdict;
  }
  for (absl::Status own :
       {absl::DeadlineExceededError("x"), absl::CancelledError("x"), absl::UnavailableError("x"),
        absl::AbortedError("x"), absl::InternalError("x")}) {
    segments.AfterCall(ClientSegments::kPull, own);
    ASSERT_TRUE(WaitForSegments(**server, 1)) << own;  // the push's is left
    pull = segments.For(ClientSegments::kPull, 4096);  // a fresh one
    ASSERT_NE(pull, nullptr);
    ASSERT_TRUE(WaitForSegments(**server, 2)) << own;
  }
  ASSERT_NE(segments.For(ClientSegments::kPull, 8192), nullptr);  // larger: a new one
  EXPECT_GE((*server)->Find(segments.For(ClientSegments::kPull, 8192)->id())->size(), 8192u);
}

TEST(ClientSegments, APsThatTakesNoneIsAskedAgainAMinuteLater) {
  const std::string path = SocketPath();  // nobody listens yet
  FakeClock clock;
  ClientSegments segments(path, 0, 1, &clock);
  EXPECT_EQ(segments.For(ClientSegments::kPush, 4096), nullptr);
  absl::StatusOr<std::unique_ptr<SegmentServer>> server =
      SegmentServer::Start({.path = path, .max_segment_bytes = 1 << 20});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(segments.For(ClientSegments::kPush, 4096), nullptr);  // not asked again yet
  clock.Advance(absl::Minutes(1));
  EXPECT_NE(segments.For(ClientSegments::kPush, 4096), nullptr);
}

TEST(ClientSegments, NoSocketNoSegment) {
  ClientSegments segments("", 0, 1, RealClock::Get());
  EXPECT_FALSE(segments.enabled());
  EXPECT_EQ(segments.For(ClientSegments::kPush, 4096), nullptr);
  absl::StatusOr<std::shared_ptr<SharedMemory>> memory = SharedMemory::Create(4096, "tensors");
  ASSERT_TRUE(memory.ok());
  segments.ShareTensors(*memory);
  EXPECT_EQ(segments.Tensors(ClientSegments::kPush), nullptr);
}

TEST(ClientSegments, SharedTensorsAreRegisteredOnceAndEachKindStopsUsingThemOnItsOwn) {
  const std::string path = SocketPath();
  absl::StatusOr<std::unique_ptr<SegmentServer>> server =
      SegmentServer::Start({.path = path, .max_segment_bytes = 1 << 20});
  ASSERT_TRUE(server.ok()) << server.status();
  ClientSegments segments(path, 0, 1, RealClock::Get());
  EXPECT_TRUE(segments.enabled());
  EXPECT_EQ(segments.Tensors(ClientSegments::kPush), nullptr);  // none shared yet
  absl::StatusOr<std::shared_ptr<SharedMemory>> memory = SharedMemory::Create(8192, "tensors");
  ASSERT_TRUE(memory.ok());
  SharedSegment* own = segments.For(ClientSegments::kPush, 4096);
  ASSERT_NE(own, nullptr);
  segments.ShareTensors(*memory);  // the call segments are made anew
  ASSERT_TRUE(WaitForSegments(**server, 0));
  std::shared_ptr<SharedSegment> push = segments.Tensors(ClientSegments::kPush);
  ASSERT_NE(push, nullptr);
  EXPECT_EQ(push->data(), (*memory)->data());
  EXPECT_EQ(segments.Tensors(ClientSegments::kPull), push);  // one registration for both
  ASSERT_TRUE(WaitForSegments(**server, 1));
  // The ps's verdict: still used. A push this side ended: pushes copy from
  // now on; pulls still use them.
  segments.AfterCall(ClientSegments::kPush, absl::InvalidArgumentError("x"), true);
  EXPECT_EQ(segments.Tensors(ClientSegments::kPush), push);
  segments.AfterCall(ClientSegments::kPush, absl::CancelledError("x"), true);
  EXPECT_EQ(segments.Tensors(ClientSegments::kPush), nullptr);
  EXPECT_EQ(segments.Tensors(ClientSegments::kPull), push);
  // A call that did not use them does not count.
  segments.AfterCall(ClientSegments::kPull, absl::CancelledError("x"), false);
  EXPECT_EQ(segments.Tensors(ClientSegments::kPull), push);
  // Unknown to the ps (it restarted): registered again at the next call; the
  // caller holding the old one keeps it until it lets go.
  segments.Drop(ClientSegments::kPull);
  std::shared_ptr<SharedSegment> again = segments.Tensors(ClientSegments::kPull);
  ASSERT_NE(again, nullptr);
  EXPECT_NE(again->id(), push->id());
  ASSERT_TRUE(WaitForSegments(**server, 2));
  push.reset();
  ASSERT_TRUE(WaitForSegments(**server, 1));
  // New memory (the worker renewed its tensors): pushes use it again.
  absl::StatusOr<std::shared_ptr<SharedMemory>> renewed = SharedMemory::Create(8192, "tensors");
  ASSERT_TRUE(renewed.ok());
  segments.ShareTensors(*renewed);
  std::shared_ptr<SharedSegment> fresh = segments.Tensors(ClientSegments::kPush);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->data(), (*renewed)->data());
}

}  // namespace
}  // namespace tessera
