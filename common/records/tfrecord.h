#ifndef TESSERA_COMMON_RECORDS_TFRECORD_H_
#define TESSERA_COMMON_RECORDS_TFRECORD_H_

// TFRecord files, byte-compatible with TensorFlow's:
//
//   uint64 length (little-endian)
//   uint32 masked CRC-32C of the 8 length bytes
//   byte   data[length]
//   uint32 masked CRC-32C of data
//
// Used for checkpoints, event files and image shards. Writer and reader each
// own their file and are not thread-safe; use one per thread. The writer writes
// through a FileSystem (common/file_system.h); the reader reads with stdio.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/file_system.h"

namespace tessera {

class TFRecordWriter {
 public:
  // Creates (truncating) `path` in `fs` (borrowed; it must outlive the
  // writer). Errors name the path and the OS error.
  static absl::StatusOr<std::unique_ptr<TFRecordWriter>> Create(
      const std::string& path, FileSystem* fs = DefaultFileSystem());
  ~TFRecordWriter();  // closes without syncing; call Close() to see errors

  // Appends one framed record. An error names the file; after one the file
  // may end in part of this record (offset() does not count it). When
  // `file_crc` is given and the write succeeds, *file_crc is extended (CRC-32C,
  // unmasked) over the bytes written, so a caller can checksum the whole file
  // as it is written.
  absl::Status Write(absl::string_view record, uint32_t* file_crc = nullptr);
  // Flushes buffers and fsyncs the file, so what was written survives a crash.
  absl::Status Sync();
  // Flushes and closes; further calls fail. Does not fsync.
  absl::Status Close();
  // Bytes written so far.
  uint64_t offset() const { return offset_; }

 private:
  TFRecordWriter(std::string path, std::unique_ptr<WritableFile> file)
      : path_(std::move(path)), file_(std::move(file)) {}
  absl::Status Closed() const;

  const std::string path_;
  std::unique_ptr<WritableFile> file_;  // null once closed
  uint64_t offset_ = 0;
};

class TFRecordReader {
 public:
  struct Options {
    // A record cut short at the end of the file (a writer that died mid-write)
    // ends reading quietly instead of being DATA_LOSS; truncated_tail() tells.
    bool allow_truncated_tail = false;
    // Records longer than this are DATA_LOSS. (A corrupt length below it
    // costs no memory beyond what the file holds: the data is read piece by
    // piece.)
    uint64_t max_record_bytes = uint64_t{1} << 32;
  };

  static absl::StatusOr<std::unique_ptr<TFRecordReader>> Open(const std::string& path,
                                                               Options options);
  static absl::StatusOr<std::unique_ptr<TFRecordReader>> Open(const std::string& path) {
    return Open(path, Options());
  }
  ~TFRecordReader();

  // Reads the next record into *record. Returns false at the end of the file.
  // DATA_LOSS, naming the file and the record's byte offset, on a CRC mismatch,
  // an oversized length, or (unless allowed) a truncated record.
  absl::StatusOr<bool> ReadRecord(std::string* record);

  bool truncated_tail() const { return truncated_tail_; }
  // Offset of the next record to read.
  uint64_t offset() const { return offset_; }

 private:
  TFRecordReader(std::string path, FILE* file, Options options, int64_t size_at_open)
      : path_(std::move(path)), file_(file), options_(options), size_at_open_(size_at_open) {}
  // Reads exactly n bytes; returns how many were read before EOF.
  absl::StatusOr<size_t> ReadFully(char* buf, size_t n);
  // A record's `length` bytes at file offset `offset` into *record, with
  // memory in proportion to what is read; returns how many were read.
  absl::StatusOr<size_t> ReadData(uint64_t offset, uint64_t length, std::string* record);
  absl::StatusOr<bool> Truncated(uint64_t record_offset, absl::string_view part);

  const std::string path_;
  FILE* file_;
  const Options options_;
  const int64_t size_at_open_;  // bytes of a regular file when opened; -1 otherwise
  uint64_t offset_ = 0;
  bool truncated_tail_ = false;
};

}  // namespace tessera

#endif  // TESSERA_COMMON_RECORDS_TFRECORD_H_
