#include "common/file_system.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace tessera {

absl::Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                 absl::string_view contents) {
  return WriteFileAtomically(fs, path,
                             [contents](WritableFile* file) { return file->Append(contents); });
}

absl::Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                 const std::function<absl::Status(WritableFile*)>& write) {
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  absl::StatusOr<std::unique_ptr<WritableFile>> file = fs->NewWritableFile(tmp);
  if (!file.ok()) return file.status();
  absl::Status s = write(file->get());
  if (s.ok()) s = (*file)->Sync();
  if (s.ok()) s = (*file)->Close();
  file->reset();
  if (s.ok()) s = fs->RenameFile(tmp, path);
  if (!s.ok()) {
    fs->DeleteFile(tmp).IgnoreError();
    return s;
  }
  return fs->SyncDir(Dirname(path));
}

}  // namespace tessera
