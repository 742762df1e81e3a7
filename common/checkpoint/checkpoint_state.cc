// The state file, directory scans, ListCheckpoints and RestoreLatest.

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/checkpoint/checkpoint_internal.h"
#include "common/checkpoint/checkpoint_manager.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/text_proto.h"
#include "google/protobuf/text_format.h"

namespace tessera {
namespace {

std::string StatePath(const std::string& dir) {
  return JoinPath(dir, std::string(kCheckpointStateFileName));
}

// Size of `path`, or 0 when it does not exist.
uint64_t FileBytes(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace

absl::StatusOr<CheckpointState> ReadCheckpointState(const std::string& dir) {
  const std::string path = StatePath(dir);
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, "checkpoint state file"));
  CheckpointState state;
  RETURN_IF_ERROR(ParseTextProto(text, path, &state));
  return state;
}

absl::Status WriteCheckpointState(const std::string& dir, const CheckpointState& state,
                                  FileSystem* fs) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(state, &text)) {
    return absl::InternalError("cannot format the checkpoint state");
  }
  return WriteFileAtomically(fs, StatePath(dir), text);
}

absl::StatusOr<std::vector<CheckpointFileSet>> ScanCheckpointDirectory(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    const int err = errno;
    return absl::Status(absl::ErrnoToStatusCode(err),
                        absl::StrCat("cannot read checkpoint directory ", dir, ": ",
                                     std::strerror(err)));
  }
  std::map<int64_t, CheckpointFileSet> found;
  while (const struct dirent* entry = ::readdir(d)) {
    absl::string_view file = entry->d_name;
    absl::string_view name = file;
    const bool data = absl::ConsumeSuffix(&name, ".data");
    const bool index = !data && absl::ConsumeSuffix(&name, ".index");
    if (!data && !index) continue;
    absl::StatusOr<int64_t> step = ParseCheckpointName(name);
    if (!step.ok()) continue;
    CheckpointFileSet& set = found[*step];
    set.name = std::string(name);
    set.global_step = *step;
    (data ? set.has_data : set.has_index) = true;
  }
  ::closedir(d);
  std::vector<CheckpointFileSet> out;
  for (auto& [step, set] : found) out.push_back(std::move(set));
  return out;
}

absl::StatusOr<CheckpointDirectoryListing> ListCheckpoints(const std::string& dir) {
  ASSIGN_OR_RETURN(std::vector<CheckpointFileSet> files, ScanCheckpointDirectory(dir));
  CheckpointDirectoryListing listing;
  std::map<int64_t, CheckpointListing> by_step;
  for (const CheckpointFileSet& f : files) {
    CheckpointListing& l = by_step[f.global_step];
    l.name = f.name;
    l.global_step = f.global_step;
  }
  absl::StatusOr<CheckpointState> state = ReadCheckpointState(dir);
  listing.state_file = state.status();
  if (state.ok()) {
    for (const CheckpointStateEntry& e : state->checkpoints()) {
      absl::StatusOr<int64_t> step = ParseCheckpointName(e.name());
      if (!step.ok()) {
        listing.state_file = Annotate(step.status(), StatePath(dir));
        continue;
      }
      CheckpointListing& l = by_step[*step];
      l.name = e.name();
      l.global_step = *step;
      l.in_state_file = true;
      l.preserved = e.preserved();
      l.write_time = absl::FromUnixMicros(e.write_time_micros());
      l.latest = e.name() == state->latest_checkpoint();
    }
  }
  for (auto& [step, l] : by_step) {
    l.total_bytes =
        FileBytes(CheckpointDataPath(dir, l.name)) + FileBytes(CheckpointIndexPath(dir, l.name));
    absl::StatusOr<CheckpointMetadata> verified = VerifyCheckpoint(dir, l.name);
    l.status = verified.status();
    if (verified.ok()) {
      l.write_time = verified->write_time;
    } else if (absl::StatusOr<CheckpointIndex> index = ReadCheckpointIndex(dir, l.name);
               index.ok()) {
      l.write_time = absl::FromUnixMicros(index->write_time_micros());
    }
    listing.checkpoints.push_back(std::move(l));
  }
  return listing;
}

absl::StatusOr<RestoredCheckpoint> RestoreLatest(const std::string& dir,
                                                 absl::string_view expected_fingerprint) {
  absl::StatusOr<std::vector<CheckpointFileSet>> files = ScanCheckpointDirectory(dir);
  if (absl::IsNotFound(files.status())) {
    return absl::NotFoundError(
        absl::StrCat("no checkpoint to restore: directory ", dir, " does not exist"));
  }
  RETURN_IF_ERROR(files.status());
  std::map<int64_t, std::string, std::greater<int64_t>> candidates;
  for (const CheckpointFileSet& f : *files) candidates[f.global_step] = f.name;
  absl::StatusOr<CheckpointState> state = ReadCheckpointState(dir);
  if (state.ok()) {
    for (const CheckpointStateEntry& e : state->checkpoints()) {
      absl::StatusOr<int64_t> step = ParseCheckpointName(e.name());
      if (step.ok()) candidates[*step] = e.name();
    }
  } else if (!absl::IsNotFound(state.status())) {
    LOG(WARNING) << "ignoring the checkpoint state file, using a directory scan: "
                 << state.status().message();
  }
  RestoredCheckpoint result;
  for (const auto& [step, name] : candidates) {
    absl::Status reason;
    // The index first: a fingerprint mismatch needs no data read.
    absl::StatusOr<CheckpointIndex> index = ReadCheckpointIndex(dir, name);
    if (!index.ok()) {
      reason = index.status();
    } else if (!expected_fingerprint.empty() &&
               index->model_fingerprint() != expected_fingerprint) {
      reason = absl::FailedPreconditionError(absl::StrCat(
          "model fingerprint mismatch: ", name, " has \"", index->model_fingerprint(),
          "\", this model is \"", expected_fingerprint, "\""));
    } else {
      absl::StatusOr<CheckpointContents> contents = ReadCheckpoint(dir, name);
      if (contents.ok()) {
        result.name = name;
        result.contents = *std::move(contents);
        return result;
      }
      reason = contents.status();
    }
    LOG(WARNING) << "skipping checkpoint " << name << " in " << dir << ": " << reason.message();
    result.skipped.push_back({name, reason});
  }
  std::vector<std::string> reasons;
  for (const SkippedCheckpoint& s : result.skipped) {
    reasons.push_back(absl::StrCat(s.name, ": ", s.reason.message()));
  }
  return absl::NotFoundError(absl::StrCat(
      "no usable checkpoint in ", dir,
      reasons.empty() ? "" : absl::StrCat(" (skipped ", absl::StrJoin(reasons, "; "), ")")));
}

}  // namespace tessera
