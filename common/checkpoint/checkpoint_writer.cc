// CheckpointWriter, SaveCheckpoint and the checkpoint naming helpers.

#include <unistd.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/checkpoint/checkpoint.h"
#include "common/checkpoint/checkpoint_internal.h"
#include "common/coding.h"
#include "common/status_macros.h"

namespace tessera {

const CheckpointVariable* CheckpointContents::Find(absl::string_view name) const {
  for (const CheckpointVariable& v : variables) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::string CheckpointName(int64_t global_step) { return absl::StrCat("ckpt-", global_step); }

absl::StatusOr<int64_t> ParseCheckpointName(absl::string_view name) {
  absl::string_view digits = name;
  int64_t step = 0;
  if (!absl::ConsumePrefix(&digits, "ckpt-") || digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &step)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", name, "\" is not a checkpoint name (expected ckpt-<step>)"));
  }
  return step;
}

std::string CheckpointDataPath(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name, ".data");
}

std::string CheckpointIndexPath(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name, ".index");
}

std::string CheckpointTensorName(absl::string_view variable, absl::string_view slot) {
  if (slot.empty()) return absl::StrCat("variable \"", variable, "\"");
  return absl::StrCat("slot \"", slot, "\" of variable \"", variable, "\"");
}

CheckpointWriter::CheckpointWriter(std::string dir, CheckpointMetadata metadata,
                                   CheckpointWriteOptions options, FileSystem* fs,
                                   std::unique_ptr<TFRecordWriter> data)
    : dir_(std::move(dir)),
      metadata_(std::move(metadata)),
      options_(options),
      fs_(fs),
      name_(CheckpointName(metadata_.global_step)),
      data_tmp_(absl::StrCat(CheckpointDataPath(dir_, name_), kCheckpointTempInfix, ::getpid())),
      index_tmp_(absl::StrCat(CheckpointIndexPath(dir_, name_), kCheckpointTempInfix, ::getpid())),
      data_(std::move(data)) {}

absl::StatusOr<std::unique_ptr<CheckpointWriter>> CheckpointWriter::Create(
    const std::string& dir, CheckpointMetadata metadata, CheckpointWriteOptions options) {
  if (metadata.global_step < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint global_step must be >= 0, got ", metadata.global_step));
  }
  if (options.max_chunk_bytes < 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint max_chunk_bytes must be >= 4, got ", options.max_chunk_bytes));
  }
  const std::string name = CheckpointName(metadata.global_step);
  const std::string data_tmp =
      absl::StrCat(CheckpointDataPath(dir, name), kCheckpointTempInfix, ::getpid());
  FileSystem* fs = options.file_system != nullptr ? options.file_system : DefaultFileSystem();
  ASSIGN_OR_RETURN(std::unique_ptr<TFRecordWriter> data, TFRecordWriter::Create(data_tmp, fs));
  return std::unique_ptr<CheckpointWriter>(
      new CheckpointWriter(dir, std::move(metadata), options, fs, std::move(data)));
}

CheckpointWriter::~CheckpointWriter() {
  if (!finished_) RemoveTemporaryFiles();
}

void CheckpointWriter::RemoveTemporaryFiles() {
  data_.reset();
  // Either may be missing (not created yet, or renamed already).
  fs_->DeleteFile(data_tmp_).IgnoreError();
  fs_->DeleteFile(index_tmp_).IgnoreError();
}

absl::Status CheckpointWriter::AddTensor(absl::string_view variable, absl::string_view slot,
                                         const Shape& shape, absl::Span<const float> values,
                                         VariableKind kind) {
  if (finished_ || failed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint writer for ", name_, " is finished or failed"));
  }
  const std::string what = CheckpointTensorName(variable, slot);
  if (variable.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": a tensor has an empty variable name"));
  }
  RETURN_IF_ERROR(ValidateShape(shape, what));
  const int64_t num_elements = NumElements(shape);
  if (static_cast<int64_t>(values.size()) != num_elements) {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": ", what, " has shape ",
                                                   ShapeString(shape), " (", num_elements,
                                                   " elements) but ", values.size(), " values"));
  }
  for (const CheckpointTensorEntry& e : index_.tensors()) {
    if (e.variable() == variable && e.slot() == slot) {
      return absl::InvalidArgumentError(absl::StrCat(name_, ": ", what, " added twice"));
    }
  }
  CheckpointTensorEntry* entry = index_.add_tensors();
  entry->set_variable(std::string(variable));
  entry->set_slot(std::string(slot));
  for (int64_t d : shape) entry->mutable_shape()->add_dim(d);
  if (slot.empty()) entry->set_kind(kind);

  const int64_t per_chunk = options_.max_chunk_bytes / static_cast<int64_t>(sizeof(float));
  int64_t offset = 0;
  std::string record;
  do {
    const int64_t n = std::min(per_chunk, num_elements - offset);
    CheckpointChunkHeader header;
    header.set_variable(entry->variable());
    header.set_slot(entry->slot());
    *header.mutable_shape() = entry->shape();
    header.set_offset(offset);
    const std::string header_bytes = header.SerializeAsString();
    record.clear();
    PutFixed32(&record, static_cast<uint32_t>(header_bytes.size()));
    record += header_bytes;
    record.append(reinterpret_cast<const char*>(values.data() + offset),
                  static_cast<size_t>(n) * sizeof(float));
    CheckpointChunkLocation* chunk = entry->add_chunks();
    chunk->set_record_offset(data_->offset());
    chunk->set_num_elements(n);
    absl::Status s = data_->Write(record, &data_crc_);
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
    offset += n;
  } while (offset < num_elements);
  return absl::OkStatus();
}

absl::Status CheckpointWriter::AddVariable(const CheckpointVariable& variable) {
  if (variable.kind != TRAINABLE && !variable.slots.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": variable \"", variable.name, "\" is ",
                     VariableKind_Name(variable.kind), " and cannot have slots"));
  }
  RETURN_IF_ERROR(AddTensor(variable.name, "", variable.value.shape(), variable.value.span(),
                            variable.kind));
  for (const auto& [slot, tensor] : variable.slots) {
    if (slot.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          name_, ": variable \"", variable.name, "\" has a slot with an empty name"));
    }
    RETURN_IF_ERROR(AddTensor(variable.name, slot, tensor.shape(), tensor.span()));
  }
  return absl::OkStatus();
}

absl::Status CheckpointWriter::Finish() {
  if (finished_ || failed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint writer for ", name_, " is finished or failed"));
  }
  const std::string without_value = FindVariableWithoutValue(index_);
  if (!without_value.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        name_, ": variable \"", without_value, "\" has slots but no value was added"));
  }
  failed_ = true;  // until everything below succeeds
  RETURN_IF_ERROR(data_->Sync());
  index_.set_format_version(kCheckpointFormatVersion);
  index_.set_global_step(metadata_.global_step);
  index_.set_model_fingerprint(metadata_.model_fingerprint);
  index_.set_optimizer(metadata_.optimizer);
  index_.set_train_config(metadata_.train_config);
  index_.set_write_time_micros(absl::ToUnixMicros(metadata_.write_time));
  index_.set_data_file(absl::StrCat(name_, ".data"));
  index_.set_data_file_bytes(data_->offset());
  index_.set_data_file_crc32c(data_crc_);
  RETURN_IF_ERROR(data_->Close());
  data_.reset();
  RETURN_IF_ERROR(fs_->RenameFile(data_tmp_, CheckpointDataPath(dir_, name_)));

  ASSIGN_OR_RETURN(std::unique_ptr<TFRecordWriter> index, TFRecordWriter::Create(index_tmp_, fs_));
  RETURN_IF_ERROR(index->Write(index_.SerializeAsString()));
  RETURN_IF_ERROR(index->Sync());
  RETURN_IF_ERROR(index->Close());
  RETURN_IF_ERROR(fs_->RenameFile(index_tmp_, CheckpointIndexPath(dir_, name_)));
  RETURN_IF_ERROR(fs_->SyncDir(dir_));
  finished_ = true;
  failed_ = false;
  return absl::OkStatus();
}

absl::StatusOr<std::string> SaveCheckpoint(const std::string& dir,
                                           const CheckpointContents& contents,
                                           CheckpointWriteOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<CheckpointWriter> writer,
                   CheckpointWriter::Create(dir, contents.metadata, options));
  for (const CheckpointVariable& v : contents.variables) {
    RETURN_IF_ERROR(writer->AddVariable(v));
  }
  RETURN_IF_ERROR(writer->Finish());
  return writer->name();
}

}  // namespace tessera
