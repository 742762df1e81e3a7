#include "common/rpc/credentials.h"

#include "common/rpc/token_auth.h"

namespace tessera {

std::shared_ptr<grpc::ServerCredentials> NewServerCredentials(const SecurityConfig& config,
                                                              Clock* clock) {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (config.server_tls()) {
    grpc::SslServerCredentialsOptions options(
        config.mutual_tls() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_root_certs = config.ca_pem;
    options.pem_key_cert_pairs.push_back({config.key_pem, config.cert_pem});
    credentials = grpc::SslServerCredentials(options);
  } else if (config.has_token()) {
    credentials = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  } else {
    return grpc::InsecureServerCredentials();
  }
  if (config.has_token()) {
    credentials->SetAuthMetadataProcessor(std::make_shared<TokenAuthProcessor>(
        config.token, clock != nullptr ? clock : RealClock::Get(), absl::Seconds(10)));
  }
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> NewChannelCredentials(const SecurityConfig& config) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (config.client_tls()) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = config.ca_pem;
    options.pem_private_key = config.key_pem;
    options.pem_cert_chain = config.cert_pem;
    credentials = grpc::SslCredentials(options);
  } else if (config.has_token()) {
    credentials = grpc::experimental::LocalCredentials(LOCAL_TCP);
  } else {
    return grpc::InsecureChannelCredentials();
  }
  if (!config.has_token()) return credentials;
  return grpc::CompositeChannelCredentials(credentials, TokenCallCredentials(config.token));
}

std::shared_ptr<grpc::ServerCredentials> NewLocalSocketServerCredentials(
    const SecurityConfig& config, Clock* clock) {
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::LocalServerCredentials(UDS);
  if (config.has_token()) {
    credentials->SetAuthMetadataProcessor(std::make_shared<TokenAuthProcessor>(
        config.token, clock != nullptr ? clock : RealClock::Get(), absl::Seconds(10)));
  }
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> NewLocalSocketChannelCredentials(
    const SecurityConfig& config) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::experimental::LocalCredentials(UDS);
  if (!config.has_token()) return credentials;
  return grpc::CompositeChannelCredentials(credentials, TokenCallCredentials(config.token));
}

}  // namespace tessera
