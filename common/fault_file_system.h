#ifndef TESSERA_COMMON_FAULT_FILE_SYSTEM_H_
#define TESSERA_COMMON_FAULT_FILE_SYSTEM_H_

// Test-only: a FileSystem that forwards to another one (usually
// DefaultFileSystem()) and fails chosen operations the way a sick disk does,
// as LevelDB's fault-injection env. Injected errors name the operation and the
// path, as real ones do: "cannot write to <path>: No space left on device".
//
//   FaultFileSystem fs(DefaultFileSystem());
//   fs.FailAppend(3, FaultFileSystem::kNoSpace, "ckpt-20");
//   ... a writer given &fs fails on its third append to a ckpt-20 file ...
//   fs.Clear();  // the disk is healthy again
//
// A fault applies to the paths that contain its `path_part` ("" matches all).
// Thread-safe. The base file system is borrowed and must outlive this one and
// every file it opened.

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/file_system.h"

namespace tessera {

class FaultFileSystem final : public FileSystem {
 public:
  enum AppendFault {
    // The append writes nothing and fails with ENOSPC; so does every later
    // append to a matching path, until Clear(): a full disk stays full.
    kNoSpace,
    // The append writes the first half of its bytes, then fails with EIO;
    // later appends work again.
    kTorn,
  };

  explicit FaultFileSystem(FileSystem* base) : base_(base) {}

  // The `nth` (1 = the next) append from now on to a path containing
  // `path_part` fails as `fault` says. Replaces an earlier append fault.
  void FailAppend(int nth, AppendFault fault, std::string path_part = "");
  // From now on, Sync() of files whose path contains `path_part` fails with
  // EIO (after flushing, as a failed fsync does).
  void FailSync(std::string path_part = "");
  // From now on, renames whose source contains `path_part` fail with EIO and
  // rename nothing.
  void FailRename(std::string path_part = "");
  // No more faults.
  void Clear();

  // Appends seen so far (including failed ones), for choosing `nth`.
  int appends() const;

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status DeleteFile(const std::string& path) override { return base_->DeleteFile(path); }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    return base_->GetChildren(dir);
  }
  absl::Status CreateDir(const std::string& dir, absl::string_view what) override {
    return base_->CreateDir(dir, what);
  }
  absl::Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }

 private:
  friend class FaultWritableFile;
  // What to do with an append of `path`: an OK status to forward it whole,
  // else the error to return, with *torn set when half should be written first.
  absl::Status BeforeAppend(const std::string& path, bool* torn);
  absl::Status BeforeSync(const std::string& path);

  FileSystem* const base_;
  mutable absl::Mutex mu_;
  int appends_ ABSL_GUARDED_BY(mu_) = 0;
  int append_countdown_ ABSL_GUARDED_BY(mu_) = 0;  // 0: no append fault armed
  AppendFault append_fault_ ABSL_GUARDED_BY(mu_) = kNoSpace;
  std::string append_part_ ABSL_GUARDED_BY(mu_);
  bool disk_full_ ABSL_GUARDED_BY(mu_) = false;
  bool fail_sync_ ABSL_GUARDED_BY(mu_) = false;
  std::string sync_part_ ABSL_GUARDED_BY(mu_);
  bool fail_rename_ ABSL_GUARDED_BY(mu_) = false;
  std::string rename_part_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_COMMON_FAULT_FILE_SYSTEM_H_
