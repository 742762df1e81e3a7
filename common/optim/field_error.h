#ifndef TESSERA_COMMON_OPTIM_FIELD_ERROR_H_
#define TESSERA_COMMON_OPTIM_FIELD_ERROR_H_

// The one error message of optimizer and schedule validation.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tessera {

// INVALID_ARGUMENT "<field> must be <requirement>, got <value>", e.g.
// "momentum must be in [0, 1), got 1". `value` is printed with six
// significant digits, as absl::StrCat prints floats and doubles.
absl::Status FieldError(absl::string_view field, absl::string_view requirement,
                        double value);

}  // namespace tessera

#endif  // TESSERA_COMMON_OPTIM_FIELD_ERROR_H_
