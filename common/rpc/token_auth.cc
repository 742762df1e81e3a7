#include "common/rpc/token_auth.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"

namespace tessera {
namespace {

std::string Value(const grpc::AuthMetadataProcessor::InputMetadata& metadata, const char* key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
}

// "client certificate CN=worker, SAN=localhost,127.0.0.1" or "no client certificate".
std::string Identity(const grpc::AuthContext& context) {
  std::vector<std::string> parts;
  for (const grpc::string_ref& cn : context.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
    parts.push_back(absl::StrCat("CN=", std::string(cn.data(), cn.size())));
  }
  std::vector<std::string> sans;
  for (const grpc::string_ref& san : context.FindPropertyValues(GRPC_X509_SAN_PROPERTY_NAME)) {
    sans.emplace_back(san.data(), san.size());
  }
  if (!sans.empty()) parts.push_back(absl::StrCat("SAN=", absl::StrJoin(sans, ",")));
  if (parts.empty()) return "no client certificate";
  return absl::StrCat("client certificate ", absl::StrJoin(parts, " "));
}

class TokenPlugin final : public grpc::MetadataCredentialsPlugin {
 public:
  explicit TokenPlugin(std::string token) : token_(std::move(token)) {}
  bool IsBlocking() const override { return false; }
  const char* GetType() const override { return "tessera-job-token"; }
  grpc::Status GetMetadata(grpc::string_ref /*service_url*/, grpc::string_ref /*method_name*/,
                           const grpc::AuthContext& /*channel_auth_context*/,
                           std::multimap<grpc::string, grpc::string>* metadata) override {
    metadata->emplace(kTokenMetadataKey, token_);
    return grpc::Status::OK;
  }

 private:
  const std::string token_;
};

}  // namespace

TokenAuthProcessor::TokenAuthProcessor(std::string token, Clock* clock, absl::Duration interval)
    : token_(std::move(token)), log_(clock, interval) {}

grpc::Status TokenAuthProcessor::Process(const InputMetadata& auth_metadata,
                                         grpc::AuthContext* context,
                                         OutputMetadata* consumed_auth_metadata,
                                         OutputMetadata* /*response_metadata*/) {
  auto it = auth_metadata.find(kTokenMetadataKey);
  if (it != auth_metadata.end() &&
      TokensEqual(std::string(it->second.data(), it->second.size()), token_)) {
    consumed_auth_metadata->emplace(kTokenMetadataKey, token_);
    return grpc::Status::OK;
  }
  const char* why = it == auth_metadata.end() ? "missing job token" : "wrong job token";
  std::optional<std::string> line = log_.Record(absl::StrCat(
      "refused ", Value(auth_metadata, ":path"), ": ", why, " (", Identity(*context),
      ", user agent '", Value(auth_metadata, "user-agent"), "')"));
  if (line.has_value()) LOG(WARNING) << *line;
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      absl::StrCat(why, ": this server requires the job's token (--token_file or "
                                        "--security_dir; docs/security.md)"));
}

std::shared_ptr<grpc::CallCredentials> TokenCallCredentials(const std::string& token) {
  return grpc::MetadataCredentialsFromPlugin(std::make_unique<TokenPlugin>(token));
}

bool TokensEqual(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i % (b.size() + 1)]);
  }
  return diff == 0;
}

}  // namespace tessera
