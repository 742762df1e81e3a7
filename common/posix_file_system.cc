// DefaultFileSystem(): FileSystem on POSIX calls.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/file_system.h"
#include "common/file_util.h"

namespace tessera {
namespace {

constexpr size_t kBufferBytes = 64 << 10;

// "<what> <path>: <strerror(err)>" with err's status code.
// Writes all of [data, data + n) to fd, retrying on EINTR.
absl::Status WriteAll(int fd, const std::string& path, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t done = ::write(fd, data, n);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return ErrnoError(done < 0 ? errno : EIO, "cannot write to", path);
    data += done;
    n -= static_cast<size_t>(done);
  }
  return absl::OkStatus();
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) Close().IgnoreError();
  }

  absl::Status Append(absl::string_view data) override {
    if (fd_ < 0) return Closed();
    if (buffer_.size() + data.size() <= kBufferBytes) {
      buffer_.append(data.data(), data.size());
      return absl::OkStatus();
    }
    absl::Status s = FlushBuffer();
    if (!s.ok()) return s;
    if (data.size() < kBufferBytes) {
      buffer_.assign(data.data(), data.size());
      return absl::OkStatus();
    }
    return WriteAll(fd_, path_, data.data(), data.size());
  }

  absl::Status Flush() override {
    if (fd_ < 0) return Closed();
    return FlushBuffer();
  }

  absl::Status Sync() override {
    if (fd_ < 0) return Closed();
    absl::Status s = FlushBuffer();
    if (!s.ok()) return s;
    if (::fsync(fd_) != 0) return ErrnoError(errno, "cannot fsync", path_);
    return absl::OkStatus();
  }

  absl::Status Close() override {
    if (fd_ < 0) return Closed();
    absl::Status s = FlushBuffer();
    if (::close(fd_) != 0 && s.ok()) s = ErrnoError(errno, "cannot close", path_);
    fd_ = -1;
    return s;
  }

  const std::string& path() const override { return path_; }

 private:
  absl::Status Closed() const {
    return absl::FailedPreconditionError(absl::StrCat(path_, " is closed"));
  }
  absl::Status FlushBuffer() {
    absl::Status s = WriteAll(fd_, path_, buffer_.data(), buffer_.size());
    buffer_.clear();  // on error the bytes are lost either way: the file is damaged
    return s;
  }

  const std::string path_;
  int fd_;
  std::string buffer_;
};

class PosixFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return ErrnoError(errno, "cannot create", path);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoError(errno, absl::StrCat("cannot rename ", from, " to"), to);
    }
    return absl::OkStatus();
  }

  absl::Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoError(errno, "cannot delete", path);
    return absl::OkStatus();
  }

  bool FileExists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  absl::StatusOr<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return ErrnoError(errno, "cannot read directory", dir);
    std::vector<std::string> names;
    while (const struct dirent* entry = ::readdir(d)) {
      const absl::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(d);
    return names;
  }

  absl::Status CreateDir(const std::string& dir, absl::string_view what) override {
    for (size_t i = 1; i <= dir.size(); ++i) {
      if (i != dir.size() && dir[i] != '/') continue;
      const std::string prefix = dir.substr(0, i);
      if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoError(errno, absl::StrCat("cannot create ", what), dir);
      }
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create ", what, " ", dir, ": not a directory"));
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "cannot open directory", dir);
    absl::Status s;
    if (::fsync(fd) != 0) s = ErrnoError(errno, "cannot fsync directory", dir);
    ::close(fd);
    return s;
  }
};

}  // namespace

FileSystem* DefaultFileSystem() {
  static FileSystem* const fs = new PosixFileSystem;
  return fs;
}

}  // namespace tessera
