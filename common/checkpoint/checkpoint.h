#ifndef TESSERA_COMMON_CHECKPOINT_CHECKPOINT_H_
#define TESSERA_COMMON_CHECKPOINT_CHECKPOINT_H_

// Checkpoint files: writing and verified reading of one checkpoint
// `ckpt-<step>` (files ckpt-<step>.data and ckpt-<step>.index in a directory;
// protos/checkpoint.proto and docs/checkpoints.md give the format).
//
// A checkpoint holds whole variables (not ps blocks), so it can be restored
// onto any number of parameter servers: each variable's value and its
// optimizer slots, plus the global step, the model fingerprint, the optimizer
// name, the training config text and the time written.
//
// The state file and rotation are in common/checkpoint_manager.h.
//
//   CheckpointContents contents;
//   contents.metadata.global_step = 1200; ...
//   contents.variables.push_back({"dense/w", w, {{"m", m}, {"v", v}}});
//   RETURN_IF_ERROR(SaveCheckpoint(dir, contents).status());
//   ASSIGN_OR_RETURN(CheckpointContents back, ReadCheckpoint(dir, "ckpt-1200"));

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/file_system.h"
#include "common/tensor.h"
#include "common/records/tfrecord.h"
#include "protos/checkpoint.pb.h"
#include "protos/variable.pb.h"

namespace tessera {

struct CheckpointMetadata {
  int64_t global_step = 0;        // >= 0; names the checkpoint
  std::string model_fingerprint;  // opaque, from the caller
  std::string optimizer;          // e.g. "adam"
  std::string train_config;       // TrainConfig text, stored verbatim
  absl::Time write_time = absl::UnixEpoch();
};

struct CheckpointVariable {
  std::string name;
  Tensor value;
  std::map<std::string, Tensor> slots;  // slot name ("m", "v", ...) -> value
  // MOVING_AVERAGE variables (batch norm's moving statistics) have no slots.
  VariableKind kind = TRAINABLE;
};

struct CheckpointContents {
  CheckpointMetadata metadata;
  std::vector<CheckpointVariable> variables;  // unique names

  // The variable called `name`, or nullptr.
  const CheckpointVariable* Find(absl::string_view name) const;
};

// "ckpt-<step>".
std::string CheckpointName(int64_t global_step);
// The step of a name "ckpt-<digits>"; INVALID_ARGUMENT otherwise (so a name
// can never point outside the directory).
absl::StatusOr<int64_t> ParseCheckpointName(absl::string_view name);
std::string CheckpointDataPath(const std::string& dir, absl::string_view name);
std::string CheckpointIndexPath(const std::string& dir, absl::string_view name);

struct CheckpointWriteOptions {
  // Tensors larger than this are split into several data records.
  int64_t max_chunk_bytes = int64_t{16} << 20;
  // Where the files are written, renamed and deleted. Borrowed; must outlive
  // the writer (or manager). nullptr = DefaultFileSystem().
  FileSystem* file_system = nullptr;
};

// Writes one checkpoint tensor by tensor, so the caller need not hold every
// variable in memory at once. Data goes to a temporary file
// (ckpt-<step>.data.tmp.<pid>); Finish() fsyncs and renames it, then writes the
// index the same way and fsyncs the directory. Until Finish() returns OK the
// checkpoint does not exist for readers; a writer destroyed before that removes
// its temporary files. An existing checkpoint of the same step is replaced.
// Does not touch the state file (CheckpointManager does).
// Not thread-safe: one thread drives a writer.
class CheckpointWriter {
 public:
  // `dir` must exist. Errors name the file that could not be created. Every
  // I/O error, here and below, names the file and the operation
  // ("cannot fsync <dir>/ckpt-20.data.tmp.<pid>: ..."); after one the writer
  // is failed and the checkpoint does not exist.
  static absl::StatusOr<std::unique_ptr<CheckpointWriter>> Create(
      const std::string& dir, CheckpointMetadata metadata,
      CheckpointWriteOptions options = CheckpointWriteOptions());
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Appends a tensor: the value of `variable` (of kind `kind`) when `slot` is
  // empty, else one of its slots (`kind` ignored). INVALID_ARGUMENT naming the
  // tensor for an empty variable name, a (variable, slot) already added, an
  // invalid shape, or values.size() that does not match the shape. I/O errors
  // name the file.
  absl::Status AddTensor(absl::string_view variable, absl::string_view slot,
                         const Shape& shape, absl::Span<const float> values,
                         VariableKind kind = TRAINABLE);
  // Adds the value (with its kind) and every slot of `variable`;
  // INVALID_ARGUMENT for slots of a MOVING_AVERAGE variable.
  absl::Status AddVariable(const CheckpointVariable& variable);

  // Makes the checkpoint durable and visible. FAILED_PRECONDITION when a
  // variable has slots but no value, or when called twice.
  absl::Status Finish();

  const std::string& name() const { return name_; }
  const CheckpointMetadata& metadata() const { return metadata_; }

 private:
  CheckpointWriter(std::string dir, CheckpointMetadata metadata,
                   CheckpointWriteOptions options, FileSystem* fs,
                   std::unique_ptr<TFRecordWriter> data);
  void RemoveTemporaryFiles();

  const std::string dir_;
  const CheckpointMetadata metadata_;
  const CheckpointWriteOptions options_;
  FileSystem* const fs_;
  const std::string name_;
  const std::string data_tmp_;
  const std::string index_tmp_;
  std::unique_ptr<TFRecordWriter> data_;
  CheckpointIndex index_;
  uint32_t data_crc_ = 0;  // CRC-32C of the data file's bytes so far
  bool finished_ = false;
  bool failed_ = false;
};

// Writes `contents` as checkpoint ckpt-<global_step> in `dir` (which must
// exist) with CheckpointWriter; returns its name.
absl::StatusOr<std::string> SaveCheckpoint(
    const std::string& dir, const CheckpointContents& contents,
    CheckpointWriteOptions options = CheckpointWriteOptions());

// Reads checkpoint `name` in `dir` and verifies all of it: the index (its
// record CRC, that it parses, its step and entries), the data file's size and
// whole-file CRC, every record's CRC, every chunk where the index says with
// the shape it says, and no tensor duplicated or missing. DATA_LOSS or
// INVALID_ARGUMENT naming the file, the byte offset or the tensor, and the
// problem; NOT_FOUND when a file is missing.
absl::StatusOr<CheckpointContents> ReadCheckpoint(const std::string& dir,
                                                  absl::string_view name);

// The same checks as ReadCheckpoint without keeping the tensors. On success
// returns the metadata.
absl::StatusOr<CheckpointMetadata> VerifyCheckpoint(const std::string& dir,
                                                    absl::string_view name);

// Only the index, checked on its own (record CRC, parse, entries); the data
// file is not read.
absl::StatusOr<CheckpointIndex> ReadCheckpointIndex(const std::string& dir,
                                                    absl::string_view name);

}  // namespace tessera

#endif  // TESSERA_COMMON_CHECKPOINT_CHECKPOINT_H_
