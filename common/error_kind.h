#ifndef TESSERA_COMMON_ERROR_KIND_H_
#define TESSERA_COMMON_ERROR_KIND_H_

// The identity of an error another process acts on, carried beside the
// status code instead of in the message text: an absl::Status payload here,
// and across gRPC the status's details (common/rpc/grpc_status.h).
//
//   return WithErrorKind(absl::FailedPreconditionError("not initialized: ..."),
//                        ErrorKind::kNotInitialized);
//   ...
//   if (GetErrorKind(status) == ErrorKind::kNotInitialized) { recover }
//
// Annotate (common/status_macros.h) keeps the kind. Thread-safe (no state).

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tessera {

enum class ErrorKind {
  kNone = 0,
  // FAILED_PRECONDITION from a ps whose variables the chief has not created
  // and initialized (yet, or again after a restart): the chief initializes or
  // restores it, the others wait.
  kNotInitialized,
  // FAILED_PRECONDITION: the request's model fingerprint is not the ps's.
  kFingerprintMismatch,
  // FAILED_PRECONDITION: a Push or Pull names a shared segment the ps does
  // not hold (common/rpc/shared_segment.h): the worker registers a new one.
  kUnknownSegment,
};

// The payload's type URL.
inline constexpr char kErrorKindUrl[] = "type.tessera/error_kind";

// `status` with `kind` attached (OK stays OK; kNone removes the kind).
absl::Status WithErrorKind(absl::Status status, ErrorKind kind);
// The kind attached to `status`; kNone when none (or an unknown one).
ErrorKind GetErrorKind(const absl::Status& status);

// "NOT_INITIALIZED", "FINGERPRINT_MISMATCH"; "" for kNone.
absl::string_view ErrorKindName(ErrorKind kind);
// The kind named `name` by ErrorKindName; nullopt for any other text.
std::optional<ErrorKind> ParseErrorKind(absl::string_view name);

}  // namespace tessera

#endif  // TESSERA_COMMON_ERROR_KIND_H_
