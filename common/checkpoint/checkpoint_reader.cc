// ReadCheckpoint, VerifyCheckpoint and ReadCheckpointIndex: every byte of both
// files is covered by a CRC, and every index entry is checked against the data.

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/checkpoint.h"
#include "common/checkpoint/checkpoint_internal.h"
#include "common/coding.h"
#include "common/crc32c.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

constexpr uint64_t kMaxIndexBytes = uint64_t{1} << 30;
// Bound on a data record's header part (names and shape).
constexpr uint64_t kMaxChunkHeaderBytes = uint64_t{1} << 20;

Shape ShapeFromProto(const TensorShape& proto) {
  return Shape(proto.dim().begin(), proto.dim().end());
}

bool SameShape(const TensorShape& a, const TensorShape& b) {
  return std::equal(a.dim().begin(), a.dim().end(), b.dim().begin(), b.dim().end());
}

// Checks the index's own consistency; `path` names the index file.
absl::Status ValidateIndex(const CheckpointIndex& index, const std::string& path,
                           absl::string_view name, int64_t step) {
  auto bad = [&path](auto&&... parts) {
    return absl::DataLossError(absl::StrCat(path, ": ", parts...));
  };
  if (index.format_version() != kCheckpointFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unsupported format version ",
                                                   index.format_version(), " (this build reads ",
                                                   kCheckpointFormatVersion, ")"));
  }
  if (index.global_step() != step) {
    return bad("global_step ", index.global_step(), " does not match the file name");
  }
  if (index.data_file() != absl::StrCat(name, ".data")) {
    return bad("names data file \"", index.data_file(), "\", expected \"", name, ".data\"");
  }
  std::set<std::pair<std::string, std::string>> seen;
  int64_t total_elements = 0;
  bool first = true;
  uint64_t last_offset = 0;
  for (const CheckpointTensorEntry& e : index.tensors()) {
    const std::string what = CheckpointTensorName(e.variable(), e.slot());
    if (e.variable().empty()) return bad("a tensor has an empty variable name");
    if (!seen.emplace(e.variable(), e.slot()).second) return bad(what, " is listed twice");
    if (!VariableKind_IsValid(e.kind())) {
      return bad(what, " has unknown variable kind ", static_cast<int>(e.kind()));
    }
    const Shape shape = ShapeFromProto(e.shape());
    absl::Status shape_ok = ValidateShape(shape, what);
    if (!shape_ok.ok()) return bad(shape_ok.message());
    const int64_t num_elements = NumElements(shape);
    if (e.chunks().empty()) return bad(what, " has no chunks");
    int64_t covered = 0;
    for (const CheckpointChunkLocation& c : e.chunks()) {
      if (c.num_elements() < 0 || (c.num_elements() == 0 && num_elements != 0) ||
          c.num_elements() > num_elements - covered) {
        return bad(what, " has a chunk of ", c.num_elements(), " elements at element ", covered,
                   " of ", num_elements);
      }
      if (!first && c.record_offset() <= last_offset) {
        return bad(what, " has a chunk at byte offset ", c.record_offset(),
                   " not after the previous chunk's ", last_offset);
      }
      if (c.record_offset() >= index.data_file_bytes()) {
        return bad(what, " has a chunk at byte offset ", c.record_offset(),
                   " past the data file's ", index.data_file_bytes(), " bytes");
      }
      first = false;
      last_offset = c.record_offset();
      covered += c.num_elements();
    }
    if (covered != num_elements) {
      return bad(what, " has chunks of ", covered, " elements, its shape ", ShapeString(shape),
                 " has ", num_elements);
    }
    total_elements += num_elements;
    if (static_cast<uint64_t>(total_elements) > index.data_file_bytes() / sizeof(float)) {
      return bad("tensors hold more elements than the data file's ", index.data_file_bytes(),
                 " bytes can");
    }
  }
  if (first && index.data_file_bytes() != 0) return bad("no tensors but a non-empty data file");
  const std::string without_value = FindVariableWithoutValue(index);
  if (!without_value.empty()) {
    return bad("variable \"", without_value, "\" has slots but no value");
  }
  return absl::OkStatus();
}

// Reads the data file of `index`, checking every record against the index;
// fills `out` (when not null) with the tensors.
absl::Status ReadData(const CheckpointIndex& index, const std::string& path,
                      CheckpointContents* out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::Status(absl::ErrnoToStatusCode(errno),
                        absl::StrCat("cannot read checkpoint data ", path, ": ",
                                     std::strerror(errno)));
  }
  if (static_cast<uint64_t>(st.st_size) != index.data_file_bytes()) {
    return absl::DataLossError(absl::StrCat(path, " is ", st.st_size, " bytes, its index says ",
                                            index.data_file_bytes(),
                                            " (truncated or overwritten)"));
  }
  int64_t max_chunk = 0;
  for (const CheckpointTensorEntry& e : index.tensors()) {
    for (const CheckpointChunkLocation& c : e.chunks()) max_chunk = std::max(max_chunk, c.num_elements());
  }
  TFRecordReader::Options options;
  options.max_record_bytes = static_cast<uint64_t>(max_chunk) * sizeof(float) + kMaxChunkHeaderBytes;
  ASSIGN_OR_RETURN(std::unique_ptr<TFRecordReader> reader, TFRecordReader::Open(path, options));

  std::string record;
  std::map<std::string, size_t> position;  // variable -> index in out->variables
  for (const CheckpointTensorEntry& e : index.tensors()) {
    const std::string what = CheckpointTensorName(e.variable(), e.slot());
    Tensor* tensor = nullptr;
    if (out != nullptr) {
      auto [it, added] = position.emplace(e.variable(), out->variables.size());
      if (added) {
        out->variables.emplace_back();
        out->variables.back().name = e.variable();
      }
      CheckpointVariable& v = out->variables[it->second];
      tensor = e.slot().empty() ? &v.value : &v.slots[e.slot()];
      if (e.slot().empty()) v.kind = e.kind();
      *tensor = Tensor(ShapeFromProto(e.shape()));
    }
    int64_t element = 0;
    for (const CheckpointChunkLocation& c : e.chunks()) {
      const uint64_t at = reader->offset();
      if (at != c.record_offset()) {
        return absl::DataLossError(absl::StrCat(path, ": record at byte offset ", at,
                                                " where the index puts ", what, " at ",
                                                c.record_offset()));
      }
      ASSIGN_OR_RETURN(bool more, reader->ReadRecord(&record));
      if (!more) {
        return absl::DataLossError(
            absl::StrCat(path, ": ends at byte offset ", at, " before ", what));
      }
      const uint64_t header_bytes = record.size() < 4 ? 0 : DecodeFixed32(record.data());
      CheckpointChunkHeader header;
      if (record.size() < 4 || header_bytes > record.size() - 4 ||
          !header.ParseFromArray(record.data() + 4, static_cast<int>(header_bytes))) {
        return absl::DataLossError(absl::StrCat(
            path, ": record at byte offset ", at, " has no valid chunk header (", what, ")"));
      }
      const uint64_t payload = record.size() - 4 - header_bytes;
      if (header.variable() != e.variable() || header.slot() != e.slot() ||
          !SameShape(header.shape(), e.shape()) || header.offset() != element ||
          payload != static_cast<uint64_t>(c.num_elements()) * sizeof(float)) {
        return absl::DataLossError(absl::StrCat(
            path, ": record at byte offset ", at, " holds ",
            CheckpointTensorName(header.variable(), header.slot()), " ",
            ShapeString(ShapeFromProto(header.shape())), " elements from ", header.offset(),
            " (", payload, " bytes); the index expects ", what, " ",
            ShapeString(ShapeFromProto(e.shape())), " elements from ", element, " (",
            c.num_elements() * static_cast<int64_t>(sizeof(float)), " bytes)"));
      }
      if (tensor != nullptr && payload > 0) {
        std::memcpy(tensor->data() + element, record.data() + 4 + header_bytes, payload);
      }
      element += c.num_elements();
    }
  }
  const uint64_t end = reader->offset();
  ASSIGN_OR_RETURN(bool extra, reader->ReadRecord(&record));
  if (extra) {
    return absl::DataLossError(
        absl::StrCat(path, ": record at byte offset ", end, " is not in the index"));
  }
  // Every byte was inside a CRC-checked record; the whole-file CRC also
  // catches a data file swapped for another one of the same layout.
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::Status(absl::ErrnoToStatusCode(errno),
                        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  uint32_t crc = 0;
  std::string buf(1 << 20, '\0');
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) crc = crc32c::Extend(crc, buf.data(), n);
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) return absl::DataLossError(absl::StrCat("cannot read ", path));
  if (crc != index.data_file_crc32c()) {
    return absl::DataLossError(absl::StrCat(path, ": CRC-32C of the whole file does not match the index"));
  }
  return absl::OkStatus();
}

CheckpointMetadata MetadataFromIndex(const CheckpointIndex& index) {
  CheckpointMetadata m;
  m.global_step = index.global_step();
  m.model_fingerprint = index.model_fingerprint();
  m.optimizer = index.optimizer();
  m.train_config = index.train_config();
  m.write_time = absl::FromUnixMicros(index.write_time_micros());
  return m;
}

absl::StatusOr<CheckpointMetadata> ReadAndVerify(const std::string& dir, absl::string_view name,
                                                 CheckpointContents* out) {
  ASSIGN_OR_RETURN(CheckpointIndex index, ReadCheckpointIndex(dir, name));
  RETURN_IF_ERROR(ReadData(index, CheckpointDataPath(dir, name), out));
  return MetadataFromIndex(index);
}

}  // namespace

std::string FindVariableWithoutValue(const CheckpointIndex& index) {
  std::set<std::string> with_value;
  for (const CheckpointTensorEntry& e : index.tensors()) {
    if (e.slot().empty()) with_value.insert(e.variable());
  }
  for (const CheckpointTensorEntry& e : index.tensors()) {
    if (with_value.count(e.variable()) == 0) return e.variable();
  }
  return "";
}

absl::StatusOr<CheckpointIndex> ReadCheckpointIndex(const std::string& dir,
                                                    absl::string_view name) {
  ASSIGN_OR_RETURN(int64_t step, ParseCheckpointName(name));
  const std::string path = CheckpointIndexPath(dir, name);
  TFRecordReader::Options options;
  options.max_record_bytes = kMaxIndexBytes;
  ASSIGN_OR_RETURN(std::unique_ptr<TFRecordReader> reader, TFRecordReader::Open(path, options));
  std::string record;
  ASSIGN_OR_RETURN(bool found, reader->ReadRecord(&record));
  if (!found) return absl::DataLossError(absl::StrCat(path, ": empty file, no index record"));
  const uint64_t end = reader->offset();
  std::string extra;
  ASSIGN_OR_RETURN(bool more, reader->ReadRecord(&extra));
  if (more) {
    return absl::DataLossError(
        absl::StrCat(path, ": unexpected second record at byte offset ", end));
  }
  CheckpointIndex index;
  if (!index.ParseFromString(record)) {
    return absl::DataLossError(absl::StrCat(path, ": the index record does not parse"));
  }
  RETURN_IF_ERROR(ValidateIndex(index, path, name, step));
  return index;
}

absl::StatusOr<CheckpointContents> ReadCheckpoint(const std::string& dir,
                                                  absl::string_view name) {
  CheckpointContents contents;
  ASSIGN_OR_RETURN(contents.metadata, ReadAndVerify(dir, name, &contents));
  return contents;
}

absl::StatusOr<CheckpointMetadata> VerifyCheckpoint(const std::string& dir,
                                                    absl::string_view name) {
  return ReadAndVerify(dir, name, nullptr);
}

}  // namespace tessera
