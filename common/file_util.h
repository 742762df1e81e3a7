#ifndef TESSERA_COMMON_FILE_UTIL_H_
#define TESSERA_COMMON_FILE_UTIL_H_

// Small file helpers with errors that name the path. Thread-safe. Writing
// goes through common/file_system.h.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// The error of a failed system call on `path`: the code of `err` (an errno
// value) and the message "<what> <path>: <strerror(err)>".
absl::Status ErrnoError(int err, absl::string_view what, absl::string_view path);

// The whole file. NOT_FOUND (or the errno's code) naming `what` and the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             absl::string_view what = "file");

// The directory part of `path` ("." when it has none).
std::string Dirname(const std::string& path);

// `relative` resolved against `base_dir` unless it is absolute or empty.
std::string JoinPath(const std::string& base_dir, const std::string& relative);

}  // namespace tessera

#endif  // TESSERA_COMMON_FILE_UTIL_H_
