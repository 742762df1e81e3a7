#ifndef TESSERA_COMMON_FILE_SYSTEM_H_
#define TESSERA_COMMON_FILE_SYSTEM_H_

// The file operations our writers need (checkpoints, TFRecord and event files,
// NPZ archives), behind one small interface so that tests can swap in a
// fault-injecting file system (common/fault_file_system.h), as LevelDB's Env.
// Owners pass a FileSystem* down to the writers they create; nullptr in an
// options struct means DefaultFileSystem().
//
// Every error names the operation and the path, e.g.
// "cannot write to /ckpt/ckpt-20.data.tmp.123: No space left on device",
// with the code absl::ErrnoToStatusCode gives for the OS error.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// A file open for appending. Not thread-safe: one thread drives a file.
// Destroying it without Close() closes it and drops any error.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  // Appends `data`. May buffer; a failed Append may have written a prefix of
  // `data` (a torn write), so the caller must treat the file as damaged.
  virtual absl::Status Append(absl::string_view data) = 0;
  // Hands buffered bytes to the OS (they survive a process crash, not a
  // machine crash).
  virtual absl::Status Flush() = 0;
  // Flushes, then fsyncs: what was appended survives a machine crash.
  virtual absl::Status Sync() = 0;
  // Flushes and closes, without fsyncing. Any later call is
  // FAILED_PRECONDITION.
  virtual absl::Status Close() = 0;
  // The path the file was opened with, for messages.
  virtual const std::string& path() const = 0;
};

// Thread-safe: any thread may call any method.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates `path` (mode 0666 less the umask, as fopen), truncating an
  // existing file.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  // rename(2): replaces `to` atomically.
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  // unlink(2). NOT_FOUND when there is no such file.
  virtual absl::Status DeleteFile(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // The names (not paths) in `dir`, without "." and "..", in no order.
  virtual absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  // mkdir -p `dir` (mode 0755); existing directories are fine. Errors read
  // "cannot create <what> <dir>: <reason>", so the caller says what the
  // directory is for ("checkpoint directory").
  virtual absl::Status CreateDir(const std::string& dir, absl::string_view what) = 0;
  // fsyncs the directory `dir`, so that renames and creations in it are durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;
};

// The POSIX file system; process-wide and stateless (as RealClock::Get()).
// Files buffer up to 64 KiB in user space.
FileSystem* DefaultFileSystem();

// Replaces `path` with `contents` so that a crash at any moment leaves either
// the old file or the new one, complete: writes `path.tmp.<pid>`, fsyncs it,
// renames it over `path`, and fsyncs the directory. On failure the temporary
// file is removed and `path` is untouched (unless only the final directory
// fsync failed). Errors name the file and the operation.
absl::Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                 absl::string_view contents);
// The same, with the contents appended by `write` to the temporary file (for
// contents too large to hold in memory). An error from `write` is returned as
// it is.
absl::Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                 const std::function<absl::Status(WritableFile*)>& write);

}  // namespace tessera

#endif  // TESSERA_COMMON_FILE_SYSTEM_H_
