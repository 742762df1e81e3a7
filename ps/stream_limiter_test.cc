#include "ps/stream_limiter.h"

#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(PeerHostTest, StripsThePortOfIpPeersOnly) {
  EXPECT_EQ(PeerHost("ipv4:10.0.0.5:41234"), "ipv4:10.0.0.5");
  EXPECT_EQ(PeerHost("ipv6:[::1]:41234"), "ipv6:[::1]");
  EXPECT_EQ(PeerHost("ipv6:%5B::1%5D:41234"), "ipv6:%5B::1%5D");
  EXPECT_EQ(PeerHost("ipv4:10.0.0.5"), "ipv4:10.0.0.5");
  EXPECT_EQ(PeerHost("unix:/tmp/ps:7"), "unix:/tmp/ps:7");
  EXPECT_EQ(PeerHost(""), "");
}

TEST(StreamLimiterTest, RefusesOverTheCapPerPeerAndReleasesWithTheSlot) {
  StreamLimiter limiter(2);
  std::vector<StreamLimiter::Slot> slots;
  for (int i = 0; i < 2; ++i) {
    auto slot = limiter.Acquire("ipv4:10.0.0.5", "Pull");
    ASSERT_TRUE(slot.ok()) << slot.status();
    slots.push_back(std::move(*slot));
  }
  auto refused = limiter.Acquire("ipv4:10.0.0.5", "Push");
  EXPECT_EQ(refused.status(),
            absl::ResourceExhaustedError(
                "too many open streams from ipv4:10.0.0.5: this Push would make 3 open Pull, "
                "Push and Snapshot streams; --max_streams_per_peer is 2"));
  // Another host has its own budget.
  auto other = limiter.Acquire("ipv4:10.0.0.6", "Pull");
  ASSERT_TRUE(other.ok());
  StreamLimiter::Usage usage = limiter.usage();
  EXPECT_EQ(usage.open, 3);
  EXPECT_EQ(usage.peers, 2);
  EXPECT_EQ(usage.busiest_peer, "ipv4:10.0.0.5");
  EXPECT_EQ(usage.busiest, 2);

  slots.pop_back();  // a stream ends: its slot is free again
  EXPECT_EQ(limiter.usage().open, 2);
  auto again = limiter.Acquire("ipv4:10.0.0.5", "Push");
  ASSERT_TRUE(again.ok()) << again.status();

  // Moving a slot moves the stream, not a second count.
  StreamLimiter::Slot moved = std::move(*again);
  StreamLimiter::Slot assigned;
  assigned = std::move(moved);
  EXPECT_EQ(limiter.usage().open, 3);
  { StreamLimiter::Slot gone = std::move(assigned); }
  EXPECT_EQ(limiter.usage().open, 2);
  slots.clear();
  *other = StreamLimiter::Slot();
  usage = limiter.usage();
  EXPECT_EQ(usage.open, 0);
  EXPECT_EQ(usage.peers, 0);
  EXPECT_EQ(usage.busiest_peer, "");
}

}  // namespace
}  // namespace tessera
