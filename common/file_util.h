#ifndef TESSERA_COMMON_FILE_UTIL_H_
#define TESSERA_COMMON_FILE_UTIL_H_

// Small file helpers with errors that name the path. Thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// The whole file. NOT_FOUND (or the errno's code) naming `what` and the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             absl::string_view what = "file");

// Replaces `path` with `contents` so that a crash at any moment leaves either
// the old file or the new one, complete: writes `path.tmp.<pid>`, fsyncs it,
// renames it over `path`, and fsyncs the directory.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents);

// mkdir -p `dir` (mode 0755). An error names `what` and `dir`:
// "cannot create checkpoint directory /x/file/sub: Not a directory".
absl::Status CreateDirectories(const std::string& dir, absl::string_view what = "directory");

// fsyncs the directory `dir` so that renames in it are durable.
absl::Status SyncDirectory(const std::string& dir);

// The directory part of `path` ("." when it has none).
std::string Dirname(const std::string& path);

// `relative` resolved against `base_dir` unless it is absolute or empty.
std::string JoinPath(const std::string& base_dir, const std::string& relative);

}  // namespace tessera

#endif  // TESSERA_COMMON_FILE_UTIL_H_
