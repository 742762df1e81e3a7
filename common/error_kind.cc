#include "common/error_kind.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"

namespace tessera {

absl::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone:
      return "";
    case ErrorKind::kNotInitialized:
      return "NOT_INITIALIZED";
    case ErrorKind::kFingerprintMismatch:
      return "FINGERPRINT_MISMATCH";
    case ErrorKind::kUnknownSegment:
      return "UNKNOWN_SEGMENT";
  }
  return "";
}

std::optional<ErrorKind> ParseErrorKind(absl::string_view name) {
  for (ErrorKind kind :
       {ErrorKind::kNotInitialized, ErrorKind::kFingerprintMismatch, ErrorKind::kUnknownSegment}) {
    if (name == ErrorKindName(kind)) return kind;
  }
  return std::nullopt;
}

absl::Status WithErrorKind(absl::Status status, ErrorKind kind) {
  if (status.ok()) return status;
  if (kind == ErrorKind::kNone) {
    status.ErasePayload(kErrorKindUrl);
  } else {
    status.SetPayload(kErrorKindUrl, absl::Cord(ErrorKindName(kind)));
  }
  return status;
}

ErrorKind GetErrorKind(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kErrorKindUrl);
  if (!payload.has_value()) return ErrorKind::kNone;
  return ParseErrorKind(std::string(*payload)).value_or(ErrorKind::kNone);
}

}  // namespace tessera
