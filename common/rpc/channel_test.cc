#include "common/rpc/channel.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(ChannelTest, ChannelIsIdleUntilTheFirstCall) {
  std::shared_ptr<grpc::Channel> channel = NewChannel("127.0.0.1:1", ChannelOptions());
  ASSERT_NE(channel, nullptr);
  EXPECT_EQ(channel->GetState(/*try_to_connect=*/false), GRPC_CHANNEL_IDLE);
}

TEST(ChannelTest, EachChannelIsItsOwn) {
  EXPECT_NE(NewChannel("127.0.0.1:1", ChannelOptions()),
            NewChannel("127.0.0.1:1", ChannelOptions()));
}

}  // namespace
}  // namespace tessera
