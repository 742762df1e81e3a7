#include "common/records/tfrecord.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/coding.h"
#include "common/crc32c.h"

namespace tessera {
absl::StatusOr<std::unique_ptr<TFRecordWriter>> TFRecordWriter::Create(const std::string& path,
                                                                       FileSystem* fs) {
  absl::StatusOr<std::unique_ptr<WritableFile>> file = fs->NewWritableFile(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<TFRecordWriter>(new TFRecordWriter(path, *std::move(file)));
}

TFRecordWriter::~TFRecordWriter() = default;

absl::Status TFRecordWriter::Closed() const {
  return absl::FailedPreconditionError(absl::StrCat(path_, " is closed"));
}

absl::Status TFRecordWriter::Write(absl::string_view record, uint32_t* file_crc) {
  if (file_ == nullptr) return Closed();
  char header[12];
  EncodeFixed64(header, record.size());
  EncodeFixed32(header + 8, crc32c::Mask(crc32c::Value(header, 8)));
  char footer[4];
  EncodeFixed32(footer, crc32c::Mask(crc32c::Value(record.data(), record.size())));
  absl::Status s = file_->Append(absl::string_view(header, sizeof(header)));
  if (s.ok()) s = file_->Append(record);
  if (s.ok()) s = file_->Append(absl::string_view(footer, sizeof(footer)));
  if (!s.ok()) return s;
  offset_ += sizeof(header) + record.size() + sizeof(footer);
  if (file_crc != nullptr) {
    *file_crc = crc32c::Extend(*file_crc, header, sizeof(header));
    *file_crc = crc32c::Extend(*file_crc, record.data(), record.size());
    *file_crc = crc32c::Extend(*file_crc, footer, sizeof(footer));
  }
  return absl::OkStatus();
}

absl::Status TFRecordWriter::Sync() {
  if (file_ == nullptr) return Closed();
  return file_->Sync();
}

absl::Status TFRecordWriter::Close() {
  if (file_ == nullptr) return Closed();
  std::unique_ptr<WritableFile> file = std::move(file_);
  return file->Close();
}

absl::StatusOr<std::unique_ptr<TFRecordReader>> TFRecordReader::Open(const std::string& path,
                                                                     Options options) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::Status(absl::ErrnoToStatusCode(errno),
                        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  struct stat st;
  const int64_t size_at_open =
      fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? static_cast<int64_t>(st.st_size) : -1;
  return std::unique_ptr<TFRecordReader>(new TFRecordReader(path, f, options, size_at_open));
}

TFRecordReader::~TFRecordReader() { std::fclose(file_); }

absl::StatusOr<size_t> TFRecordReader::ReadFully(char* buf, size_t n) {
  size_t got = std::fread(buf, 1, n, file_);
  if (got < n && std::ferror(file_)) {
    return absl::Status(absl::ErrnoToStatusCode(errno),
                        absl::StrCat("cannot read ", path_, ": ", std::strerror(errno)));
  }
  return got;
}

absl::StatusOr<size_t> TFRecordReader::ReadData(uint64_t offset, uint64_t length,
                                                std::string* record) {
  // The length is not trusted: memory grows with the bytes actually read, so a
  // corrupt length costs at most one piece more than the file holds. The size
  // at open (when known) only saves the string's reallocations.
  // The string's old bytes are overwritten, not cleared first: growing it
  // zero-fills only the bytes beyond its old size (callers reuse their
  // strings; clearing made every record's bytes be zeroed, then read).
  constexpr uint64_t kPiece = uint64_t{1} << 20;
  if (size_at_open_ >= 0) {
    const uint64_t size = static_cast<uint64_t>(size_at_open_);
    const uint64_t left = size - std::min(offset, size);
    record->reserve(std::min(length, left));
  }
  size_t done = 0;
  while (done < length) {
    const size_t piece = static_cast<size_t>(std::min(length - done, kPiece));
    if (record->size() < done + piece) record->resize(done + piece);
    absl::StatusOr<size_t> n = ReadFully(record->data() + done, piece);
    if (!n.ok()) {
      record->resize(done);
      return n.status();
    }
    done += *n;
    if (*n < piece) break;
  }
  record->resize(done);
  return done;
}

absl::StatusOr<bool> TFRecordReader::Truncated(uint64_t record_offset, absl::string_view part) {
  if (options_.allow_truncated_tail) {
    truncated_tail_ = true;
    return false;
  }
  return absl::DataLossError(absl::StrCat(path_, ": record at byte offset ", record_offset,
                                          " is truncated (", part, " cut short)"));
}

absl::StatusOr<bool> TFRecordReader::ReadRecord(std::string* record) {
  const uint64_t start = offset_;
  char header[12];
  size_t got;
  {
    absl::StatusOr<size_t> n = ReadFully(header, sizeof(header));
    if (!n.ok()) return n.status();
    got = *n;
  }
  if (got == 0) return false;
  if (got < sizeof(header)) return Truncated(start, "header");
  if (crc32c::Unmask(DecodeFixed32(header + 8)) != crc32c::Value(header, 8)) {
    return absl::DataLossError(absl::StrCat(path_, ": CRC mismatch in the length of the record at byte offset ", start));
  }
  const uint64_t length = DecodeFixed64(header);
  if (length > options_.max_record_bytes) {
    return absl::DataLossError(absl::StrCat(path_, ": record at byte offset ", start, " claims ",
                                            length, " bytes, more than the limit of ",
                                            options_.max_record_bytes));
  }
  {
    absl::StatusOr<size_t> n = ReadData(start + sizeof(header), length, record);
    if (!n.ok()) return n.status();
    if (*n < length) return Truncated(start, "data");
  }
  char footer[4];
  {
    absl::StatusOr<size_t> n = ReadFully(footer, sizeof(footer));
    if (!n.ok()) return n.status();
    if (*n < sizeof(footer)) return Truncated(start, "data CRC");
  }
  if (crc32c::Unmask(DecodeFixed32(footer)) != crc32c::Value(record->data(), length)) {
    return absl::DataLossError(
        absl::StrCat(path_, ": CRC mismatch in the data of the record at byte offset ", start));
  }
  offset_ = start + sizeof(header) + length + sizeof(footer);
  return true;
}

}  // namespace tessera
