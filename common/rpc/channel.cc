#include "common/rpc/channel.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/chunk_coding.h"
#include "common/rpc/credentials.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace tessera {

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          const ChannelOptions& options) {
  grpc::ChannelArguments args;
  SetTransportChannelArgs(&args);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.initial_reconnect_backoff)));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.min_connect_timeout)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.max_reconnect_backoff)));
  if (!options.local_socket.empty()) {
    return grpc::CreateCustomChannel(absl::StrCat("unix:", options.local_socket),
                                     NewLocalSocketChannelCredentials(options.security), args);
  }
  return grpc::CreateCustomChannel(address, NewChannelCredentials(options.security), args);
}

}  // namespace tessera
