#ifndef TESSERA_PS_STORE_ERRORS_H_
#define TESSERA_PS_STORE_ERRORS_H_

// The store's errors that clients act on by kind (common/error_kind.h), in
// one place for the store (ps/variable_store.h) and its sessions.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tessera {

inline constexpr char kNotInitializedMessage[] =
    "not initialized: waiting for the chief to create and initialize the variables";

// FAILED_PRECONDITION kNotInitializedMessage of kind ErrorKind::kNotInitialized:
// workers act on the kind, never on the text.
absl::Status NotInitializedError();

// FAILED_PRECONDITION of kind ErrorKind::kFingerprintMismatch: a request with
// `fingerprint` reached a ps holding the variables of `held`.
absl::Status FingerprintMismatchError(absl::string_view fingerprint, absl::string_view held);

}  // namespace tessera

#endif  // TESSERA_PS_STORE_ERRORS_H_
