#include "common/optim/field_error.h"

#include "absl/strings/str_cat.h"

namespace tessera {

absl::Status FieldError(absl::string_view field, absl::string_view requirement,
                        double value) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be ", requirement, ", got ", value));
}

}  // namespace tessera
