#include "common/rpc/grpc_status.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tessera {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const ErrorKind kind = GetErrorKind(status);
  std::string details;
  if (kind != ErrorKind::kNone) details = absl::StrCat(kErrorKindDetailsPrefix, ErrorKindName(kind));
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()), details);
}

absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  absl::Status result =
      context.empty() ? absl::Status(code, status.error_message())
                      : absl::Status(code, absl::StrCat(context, ": ", status.error_message()));
  const std::string all_details = status.error_details();  // a copy, not a reference
  absl::string_view details = all_details;
  if (absl::ConsumePrefix(&details, kErrorKindDetailsPrefix)) {
    if (std::optional<ErrorKind> kind = ParseErrorKind(details); kind.has_value()) {
      result = WithErrorKind(std::move(result), *kind);
    }
  }
  return result;
}

}  // namespace tessera
