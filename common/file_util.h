#ifndef TESSERA_COMMON_FILE_UTIL_H_
#define TESSERA_COMMON_FILE_UTIL_H_

// Small file helpers with errors that name the path. Thread-safe. Writing
// goes through common/file_system.h.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// The whole file. NOT_FOUND (or the errno's code) naming `what` and the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             absl::string_view what = "file");

// The directory part of `path` ("." when it has none).
std::string Dirname(const std::string& path);

// `relative` resolved against `base_dir` unless it is absolute or empty.
std::string JoinPath(const std::string& base_dir, const std::string& relative);

}  // namespace tessera

#endif  // TESSERA_COMMON_FILE_UTIL_H_
