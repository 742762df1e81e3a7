#include "data/idx_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;
// Larger headers are treated as corrupt rather than allocated: 2^34 bytes.
constexpr int64_t kMaxPayloadBytes = int64_t{1} << 34;
constexpr size_t kChunkBytes = size_t{1} << 20;

// A gzip or plain file opened with zlib, read front to back. Not thread-safe.
class IdxFile {
 public:
  static absl::StatusOr<IdxFile> Open(const std::string& path) {
    errno = 0;
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) {
      const int err = errno;
      return absl::NotFoundError(absl::StrCat(
          path, ": cannot open: ", err != 0 ? std::strerror(err) : "out of memory"));
    }
    gzbuffer(file, 1 << 17);
    return IdxFile(path, file);
  }

  IdxFile(IdxFile&& other) noexcept
      : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)) {}
  IdxFile& operator=(IdxFile&&) = delete;
  ~IdxFile() {
    if (file_ != nullptr) gzclose(file_);
  }

  // Reads the big-endian magic and `num_dims` dimensions.
  absl::Status ReadHeader(uint32_t want_magic, absl::string_view kind,
                          std::vector<int64_t>* dims) {
    unsigned char magic[4];
    RETURN_IF_ERROR(ReadExactly(magic, 4, "the 4-byte magic number"));
    const uint32_t got = BigEndian(magic);
    if (got != want_magic) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: bad magic number 0x%08x, want 0x%08x (IDX %s)%s", path_, got, want_magic,
          kind, got == 0x1f8b0808 ? "; is it gzip-compressed twice?" : ""));
    }
    const int num_dims = static_cast<int>(want_magic & 0xff);
    unsigned char raw[4 * 3];
    RETURN_IF_ERROR(ReadExactly(raw, 4 * num_dims,
                                absl::StrCat("the header's ", num_dims, " dimensions")));
    dims->clear();
    for (int i = 0; i < num_dims; ++i) dims->push_back(BigEndian(raw + 4 * i));
    return absl::OkStatus();
  }

  // Reads exactly `n` bytes, in chunks so that a corrupt header claiming a
  // huge size fails on the short file before a huge allocation.
  absl::StatusOr<std::vector<uint8_t>> ReadPayload(int64_t n, absl::string_view what) {
    if (n > kMaxPayloadBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ": header claims ", n, " bytes of ", what, "; more than 2^34, corrupt?"));
    }
    std::vector<uint8_t> bytes;
    bytes.reserve(static_cast<size_t>(std::min<int64_t>(n, int64_t{64} << 20)));
    int64_t done = 0;
    while (done < n) {
      const size_t chunk = static_cast<size_t>(std::min<int64_t>(n - done, kChunkBytes));
      bytes.resize(static_cast<size_t>(done) + chunk);
      const int got = gzread(file_, bytes.data() + done, static_cast<unsigned>(chunk));
      if (got < 0) return StreamError();
      done += got;
      if (static_cast<size_t>(got) < chunk) {
        RETURN_IF_ERROR(CheckStream());
        return absl::DataLossError(absl::StrCat(path_, ": truncated: header promises ", n,
                                                " bytes of ", what, ", file has ", done));
      }
    }
    return bytes;
  }

  // DATA_LOSS if anything follows the payload.
  absl::Status ExpectEnd() {
    unsigned char extra[4096];
    int64_t count = 0;
    int got;
    while ((got = gzread(file_, extra, sizeof(extra))) > 0) count += got;
    if (got < 0) return StreamError();
    if (count > 0) {
      return absl::DataLossError(
          absl::StrCat(path_, ": ", count, " unexpected bytes after the data"));
    }
    return absl::OkStatus();
  }

 private:
  IdxFile(std::string path, gzFile file) : path_(std::move(path)), file_(file) {}

  static uint32_t BigEndian(const unsigned char* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  }

  absl::Status ReadExactly(unsigned char* buf, int n, absl::string_view what) {
    const int got = gzread(file_, buf, static_cast<unsigned>(n));
    if (got < 0) return StreamError();
    if (got < n) {
      RETURN_IF_ERROR(CheckStream());
      return absl::DataLossError(absl::StrCat(path_, ": truncated: file ends in ", what,
                                              " (", got, " of ", n, " bytes)"));
    }
    return absl::OkStatus();
  }

  // OK unless zlib reports an error (a truncated gzip stream reads as short).
  absl::Status CheckStream() {
    int code = Z_OK;
    gzerror(file_, &code);
    if (code == Z_OK || code == Z_BUF_ERROR) return absl::OkStatus();
    return StreamError();
  }

  absl::Status StreamError() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_ERRNO) message = std::strerror(errno);
    return absl::DataLossError(absl::StrCat(path_, ": read error: ", message));
  }

  std::string path_;
  gzFile file_;
};

}  // namespace

absl::StatusOr<Tensor> ReadIdxImages(const std::string& path) {
  ASSIGN_OR_RETURN(IdxFile file, IdxFile::Open(path));
  std::vector<int64_t> dims;
  RETURN_IF_ERROR(file.ReadHeader(kImagesMagic, "unsigned-byte images, 3 dimensions", &dims));
  const int64_t count = dims[0], rows = dims[1], cols = dims[2];
  if (rows == 0 || cols == 0 || rows > 65536 || cols > 65536) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": implausible image size ", rows, "x", cols, " in the header"));
  }
  if (count > kMaxPayloadBytes / (rows * cols)) {  // rows * cols <= 2^32: no overflow
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": header claims ", count, " images of ", rows, "x", cols,
        ", more than 2^34 bytes; corrupt?"));
  }
  ASSIGN_OR_RETURN(std::vector<uint8_t> pixels,
                   file.ReadPayload(count * rows * cols, "pixels"));
  RETURN_IF_ERROR(file.ExpectEnd());
  Tensor images({count, rows, cols, 1});
  float* out = images.data();
  const uint8_t* in = pixels.data();
  const size_t n = pixels.size();
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]) * (1.0f / 255.0f);
  return images;
}

absl::StatusOr<std::vector<int32_t>> ReadIdxLabels(const std::string& path) {
  ASSIGN_OR_RETURN(IdxFile file, IdxFile::Open(path));
  std::vector<int64_t> dims;
  RETURN_IF_ERROR(file.ReadHeader(kLabelsMagic, "unsigned-byte labels, 1 dimension", &dims));
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, file.ReadPayload(dims[0], "labels"));
  RETURN_IF_ERROR(file.ExpectEnd());
  return std::vector<int32_t>(bytes.begin(), bytes.end());
}

absl::StatusOr<Dataset> ReadIdxDataset(const std::string& images_path,
                                       const std::string& labels_path) {
  Dataset dataset;
  ASSIGN_OR_RETURN(dataset.inputs, ReadIdxImages(images_path));
  ASSIGN_OR_RETURN(dataset.labels, ReadIdxLabels(labels_path));
  if (static_cast<int64_t>(dataset.labels.size()) != dataset.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        images_path, " has ", dataset.size(), " images but ", labels_path, " has ",
        dataset.labels.size(), " labels"));
  }
  return dataset;
}

}  // namespace tessera
