#include "common/fault_file_system.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace tessera {

// Forwards to the base file, asking the file system before appends and syncs.
class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultFileSystem* fs, std::unique_ptr<WritableFile> base)
      : fs_(fs), base_(std::move(base)) {}

  absl::Status Append(absl::string_view data) override {
    bool torn = false;
    absl::Status fault = fs_->BeforeAppend(path(), &torn);
    if (fault.ok()) return base_->Append(data);
    if (torn) {
      absl::Status s = base_->Append(data.substr(0, data.size() / 2));
      if (s.ok()) s = base_->Flush();  // the torn bytes reach the file
      if (!s.ok()) return s;
    }
    return fault;
  }
  absl::Status Flush() override { return base_->Flush(); }
  absl::Status Sync() override {
    absl::Status fault = fs_->BeforeSync(path());
    if (fault.ok()) return base_->Sync();
    base_->Flush().IgnoreError();
    return fault;
  }
  absl::Status Close() override { return base_->Close(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultFileSystem* const fs_;
  const std::unique_ptr<WritableFile> base_;
};

void FaultFileSystem::FailAppend(int nth, AppendFault fault, std::string path_part) {
  absl::MutexLock lock(&mu_);
  append_countdown_ = nth;
  append_fault_ = fault;
  append_part_ = std::move(path_part);
}

void FaultFileSystem::FailSync(std::string path_part) {
  absl::MutexLock lock(&mu_);
  fail_sync_ = true;
  sync_part_ = std::move(path_part);
}

void FaultFileSystem::FailRename(std::string path_part) {
  absl::MutexLock lock(&mu_);
  fail_rename_ = true;
  rename_part_ = std::move(path_part);
}

void FaultFileSystem::Clear() {
  absl::MutexLock lock(&mu_);
  append_countdown_ = 0;
  disk_full_ = false;
  fail_sync_ = false;
  fail_rename_ = false;
}

int FaultFileSystem::appends() const {
  absl::MutexLock lock(&mu_);
  return appends_;
}

absl::Status FaultFileSystem::BeforeAppend(const std::string& path, bool* torn) {
  absl::MutexLock lock(&mu_);
  ++appends_;
  *torn = false;
  const bool matches = absl::StrContains(path, append_part_);
  if (disk_full_ && matches) return ErrnoError(ENOSPC, "cannot write to", path);
  if (append_countdown_ == 0 || !matches || --append_countdown_ > 0) return absl::OkStatus();
  if (append_fault_ == kNoSpace) {
    disk_full_ = true;
    return ErrnoError(ENOSPC, "cannot write to", path);
  }
  *torn = true;
  return ErrnoError(EIO, "cannot write to", path);
}

absl::Status FaultFileSystem::BeforeSync(const std::string& path) {
  absl::MutexLock lock(&mu_);
  if (fail_sync_ && absl::StrContains(path, sync_part_)) {
    return ErrnoError(EIO, "cannot fsync", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultFileSystem::NewWritableFile(
    const std::string& path) {
  absl::StatusOr<std::unique_ptr<WritableFile>> base = base_->NewWritableFile(path);
  if (!base.ok()) return base.status();
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, *std::move(base)));
}

absl::Status FaultFileSystem::RenameFile(const std::string& from, const std::string& to) {
  {
    absl::MutexLock lock(&mu_);
    if (fail_rename_ && absl::StrContains(from, rename_part_)) {
      return ErrnoError(EIO, absl::StrCat("cannot rename ", from, " to"), to);
    }
  }
  return base_->RenameFile(from, to);
}

}  // namespace tessera
