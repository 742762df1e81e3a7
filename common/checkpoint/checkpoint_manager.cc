#include "common/checkpoint/checkpoint_manager.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/checkpoint/checkpoint_internal.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

// Removes "ckpt-*.tmp.*" and "checkpoint.tmp.*" files a crashed writer left.
void RemoveTemporaryFiles(FileSystem* fs, const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> children = fs->GetChildren(dir);
  if (!children.ok()) return;
  for (const std::string& file : *children) {
    if ((absl::StartsWith(file, "ckpt-") ||
         absl::StartsWith(file, absl::StrCat(kCheckpointStateFileName, kCheckpointTempInfix))) &&
        absl::StrContains(file, kCheckpointTempInfix)) {
      const std::string path = JoinPath(dir, file);
      LOG(WARNING) << "removing " << path << ", left by an interrupted checkpoint write";
      fs->DeleteFile(path).IgnoreError();
    }
  }
}

// The state to manage `dir` with: its state file, plus complete checkpoints
// (data and index) found in the directory but not listed, sorted by step. A
// data file with no index that the state file does not list is what a write
// interrupted between its two renames leaves (the data is renamed first): it
// was never a checkpoint, and is removed like the temporary files (adopted, it
// was listed as a checkpoint that cannot be read). An index without its data
// is left alone and not adopted.
CheckpointState LoadState(FileSystem* fs, const std::string& dir, absl::Time now) {
  CheckpointState state;
  absl::StatusOr<CheckpointState> read = ReadCheckpointState(dir);
  if (read.ok()) {
    state = *std::move(read);
  } else {
    if (!absl::IsNotFound(read.status())) {
      LOG(WARNING) << "rebuilding the checkpoint state file from the files in " << dir << ": "
                   << read.status().message();
    }
    state.set_last_preserved_time_micros(absl::ToUnixMicros(now));
  }
  absl::StatusOr<std::vector<CheckpointFileSet>> files = ScanCheckpointDirectory(dir);
  if (files.ok()) {
    for (const CheckpointFileSet& f : *files) {
      const bool listed = std::any_of(
          state.checkpoints().begin(), state.checkpoints().end(),
          [&f](const CheckpointStateEntry& e) { return e.name() == f.name; });
      if (listed) continue;
      if (f.has_data && !f.has_index) {
        const std::string path = CheckpointDataPath(dir, f.name);
        LOG(WARNING) << "removing " << path
                     << ": a data file without its index, left by an interrupted checkpoint write";
        fs->DeleteFile(path).IgnoreError();
        continue;
      }
      if (!f.has_data) continue;
      CheckpointStateEntry* e = state.add_checkpoints();
      e->set_name(f.name);
      e->set_global_step(f.global_step);
      absl::StatusOr<CheckpointIndex> index = ReadCheckpointIndex(dir, f.name);
      e->set_write_time_micros(index.ok() ? index->write_time_micros() : absl::ToUnixMicros(now));
    }
  }
  std::stable_sort(state.mutable_checkpoints()->begin(), state.mutable_checkpoints()->end(),
                   [](const CheckpointStateEntry& a, const CheckpointStateEntry& b) {
                     return a.global_step() < b.global_step();
                   });
  return state;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CheckpointManager>> CheckpointManager::Create(
    const std::string& dir, CheckpointManagerOptions options, Clock* clock) {
  if (dir.empty()) return absl::InvalidArgumentError("checkpoint directory is empty");
  if (options.max_to_keep < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_to_keep must be >= 0, got ", options.max_to_keep));
  }
  FileSystem* fs = options.write_options.file_system != nullptr ? options.write_options.file_system
                                                                : DefaultFileSystem();
  options.write_options.file_system = fs;
  RETURN_IF_ERROR(fs->CreateDir(dir, "checkpoint directory"));
  RemoveTemporaryFiles(fs, dir);
  CheckpointState state = LoadState(fs, dir, clock->Now());
  return std::unique_ptr<CheckpointManager>(
      new CheckpointManager(dir, options, fs, clock, std::move(state)));
}

CheckpointState CheckpointManager::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

absl::StatusOr<std::unique_ptr<CheckpointWriter>> CheckpointManager::NewWriter(
    CheckpointMetadata metadata) {
  metadata.write_time = clock_->Now();
  return CheckpointWriter::Create(dir_, std::move(metadata), options_.write_options);
}

absl::StatusOr<std::string> CheckpointManager::Save(const CheckpointContents& contents) {
  ASSIGN_OR_RETURN(std::unique_ptr<CheckpointWriter> writer, NewWriter(contents.metadata));
  for (const CheckpointVariable& v : contents.variables) {
    RETURN_IF_ERROR(writer->AddVariable(v));
  }
  return Commit(std::move(writer));
}

absl::StatusOr<std::string> CheckpointManager::Commit(std::unique_ptr<CheckpointWriter> writer) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(writer->Finish());
  const std::string name = writer->name();
  auto* entries = state_.mutable_checkpoints();
  entries->erase(std::remove_if(entries->begin(), entries->end(),
                                [&name](const CheckpointStateEntry& e) { return e.name() == name; }),
                 entries->end());
  CheckpointStateEntry entry;
  entry.set_name(name);
  entry.set_global_step(writer->metadata().global_step);
  entry.set_write_time_micros(absl::ToUnixMicros(writer->metadata().write_time));
  entries->Add(std::move(entry));
  // Keep entries ascending by step: move the new one down into place.
  for (int i = entries->size() - 1;
       i > 0 && (*entries)[i - 1].global_step() > (*entries)[i].global_step(); --i) {
    entries->SwapElements(i - 1, i);
  }
  state_.set_latest_checkpoint(name);
  const std::vector<std::string> doomed = Rotate();
  // The state file first: a crash before the deletions leaves unlisted files,
  // never a listed checkpoint without its files.
  RETURN_IF_ERROR(WriteCheckpointState(dir_, state_, fs_));
  for (const std::string& old : doomed) {
    // The index first, so a half-deleted checkpoint is plainly incomplete.
    for (const std::string& path : {CheckpointIndexPath(dir_, old), CheckpointDataPath(dir_, old)}) {
      absl::Status deleted = fs_->DeleteFile(path);
      if (!deleted.ok() && !absl::IsNotFound(deleted)) {
        LOG(WARNING) << "old checkpoint: " << deleted.message();
      }
    }
    LOG(INFO) << "deleted old checkpoint " << old << " in " << dir_;
  }
  return name;
}

std::vector<std::string> CheckpointManager::Rotate() {
  std::vector<std::string> doomed;
  if (options_.max_to_keep == 0) return doomed;
  const bool keep_every = options_.keep_checkpoint_every_n_hours > 0;
  const absl::Duration every = absl::Hours(options_.keep_checkpoint_every_n_hours);
  auto* entries = state_.mutable_checkpoints();
  int rotating = 0;
  for (const CheckpointStateEntry& e : *entries) rotating += e.preserved() ? 0 : 1;
  for (int i = 0; i < entries->size() && rotating > options_.max_to_keep;) {
    CheckpointStateEntry& e = (*entries)[i];
    if (e.preserved() || e.name() == state_.latest_checkpoint()) {
      ++i;
      continue;
    }
    --rotating;
    const absl::Time time = absl::FromUnixMicros(e.write_time_micros());
    if (keep_every &&
        time - absl::FromUnixMicros(state_.last_preserved_time_micros()) >= every) {
      e.set_preserved(true);
      state_.set_last_preserved_time_micros(e.write_time_micros());
      ++i;
      continue;
    }
    doomed.push_back(e.name());
    entries->erase(entries->begin() + i);
  }
  return doomed;
}

}  // namespace tessera
