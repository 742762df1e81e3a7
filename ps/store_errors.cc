#include "ps/store_errors.h"

#include "absl/strings/str_cat.h"
#include "common/error_kind.h"

namespace tessera {

absl::Status NotInitializedError() {
  return WithErrorKind(absl::FailedPreconditionError(kNotInitializedMessage),
                       ErrorKind::kNotInitialized);
}

absl::Status FingerprintMismatchError(absl::string_view fingerprint, absl::string_view held) {
  return WithErrorKind(
      absl::FailedPreconditionError(absl::StrCat(
          "model fingerprint '", fingerprint, "' does not match this ps's fingerprint ", held,
          " (every task must use the same model and cluster file)")),
      ErrorKind::kFingerprintMismatch);
}

}  // namespace tessera
