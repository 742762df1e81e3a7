#ifndef TESSERA_COMMON_STATUS_MACROS_H_
#define TESSERA_COMMON_STATUS_MACROS_H_

// The status helpers Debian's Abseil (20220623) lacks.
//
//   RETURN_IF_ERROR(DoThing());                 returns the Status if not OK
//   ASSIGN_OR_RETURN(auto value, MakeValue());  returns the Status, or binds the value
//
// Both work in functions returning absl::Status or absl::StatusOr<T>.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TESSERA_STATUS_CONCAT_INNER_(a, b) a##b
#define TESSERA_STATUS_CONCAT_(a, b) TESSERA_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    ::absl::Status tessera_status_ = (expr);                    \
    if (!tessera_status_.ok()) return tessera_status_;          \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr)                                            \
  TESSERA_ASSIGN_OR_RETURN_IMPL_(                                              \
      TESSERA_STATUS_CONCAT_(tessera_statusor_, __LINE__), lhs, expr)

#define TESSERA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

namespace tessera {

// Returns `status` with `context + ": "` in front of its message, with its
// code and payloads (common/error_kind.h); OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace tessera

#endif  // TESSERA_COMMON_STATUS_MACROS_H_
