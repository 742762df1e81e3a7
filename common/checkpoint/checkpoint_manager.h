#ifndef TESSERA_COMMON_CHECKPOINT_CHECKPOINT_MANAGER_H_
#define TESSERA_COMMON_CHECKPOINT_CHECKPOINT_MANAGER_H_

// A checkpoint directory: the state file `checkpoint` (text CheckpointState,
// as TensorFlow's), saving with rotation (max_to_keep, plus one every
// keep_checkpoint_every_n_hours, as tf.train.Saver), listing, and choosing the
// checkpoint to restore. Format: protos/checkpoint.proto, docs/checkpoints.md.
//
//   ASSIGN_OR_RETURN(auto manager, CheckpointManager::Create(dir, {}, clock));
//   ASSIGN_OR_RETURN(std::string name, manager->Save(contents));
//   ...
//   absl::StatusOr<RestoredCheckpoint> r = RestoreLatest(dir, fingerprint);
//   if (absl::IsNotFound(r.status())) { /* initialize */ }

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/checkpoint/checkpoint.h"
#include "common/clock.h"
#include "protos/checkpoint.pb.h"

namespace tessera {

inline constexpr absl::string_view kCheckpointStateFileName = "checkpoint";

// The state file of `dir`. NOT_FOUND when there is none; INVALID_ARGUMENT
// naming "file:line:column" when it does not parse.
absl::StatusOr<CheckpointState> ReadCheckpointState(const std::string& dir);
// Replaces the state file atomically (WriteFileAtomically) in `fs`.
absl::Status WriteCheckpointState(const std::string& dir, const CheckpointState& state,
                                  FileSystem* fs = DefaultFileSystem());

struct CheckpointListing {
  std::string name;
  int64_t global_step = 0;
  // From the index when it parses, else from the state file, else InfinitePast.
  absl::Time write_time = absl::InfinitePast();
  uint64_t total_bytes = 0;  // of the .data and .index files that exist
  bool in_state_file = false;
  bool latest = false;     // the state file's latest_checkpoint
  bool preserved = false;  // kept by keep_checkpoint_every_n_hours
  absl::Status status;     // OK when it verifies in full, else why not
};

struct CheckpointDirectoryListing {
  std::vector<CheckpointListing> checkpoints;  // ascending by step
  absl::Status state_file;  // OK, NOT_FOUND, or why it does not parse
};

// Every checkpoint named by the state file or present in `dir` (either of its
// files), each verified in full, so this reads every data file. NOT_FOUND
// when `dir` does not exist.
absl::StatusOr<CheckpointDirectoryListing> ListCheckpoints(const std::string& dir);

struct SkippedCheckpoint {
  std::string name;
  absl::Status reason;
};

struct RestoredCheckpoint {
  std::string name;
  CheckpointContents contents;
  std::vector<SkippedCheckpoint> skipped;  // newer checkpoints passed over
};

// The checkpoint with the highest step, among those in the state file or the
// directory, that verifies in full and whose fingerprint is
// `expected_fingerprint` (any fingerprint when it is empty). Each newer one
// passed over is returned in `skipped` and logged as a warning; a fingerprint
// mismatch is FAILED_PRECONDITION naming both fingerprints. NOT_FOUND when
// none qualifies (the message lists those skipped) or `dir` does not exist.
absl::StatusOr<RestoredCheckpoint> RestoreLatest(const std::string& dir,
                                                 absl::string_view expected_fingerprint);

struct CheckpointManagerOptions {
  // Newest checkpoints kept; older ones are deleted. 0 keeps all.
  int max_to_keep = 5;
  // Of the checkpoints rotated out, one per this many hours is kept for good
  // (marked preserved). <= 0, or the default 10000, in effect never.
  double keep_checkpoint_every_n_hours = 10000;
  // Also says where the manager writes: write_options.file_system is used for
  // the state file, deletions and the directory as well as for the writers.
  CheckpointWriteOptions write_options;
};

// Saves checkpoints into one directory and maintains its state file.
// Create() makes the directory if missing, reads the state file (rebuilding it
// from the directory if it does not parse), takes over checkpoints found in
// the directory but not listed, and removes temporary files left by a crash.
// Only one manager (the chief's) may write a directory at a time.
// Thread-safe; saves are serialized. The clock is borrowed. A save that fails
// (Save or Commit returns an error naming the file) leaves the state file and
// the previous checkpoints as they were. Reading (the state file, scans,
// RestoreLatest) uses POSIX calls directly.
class CheckpointManager {
 public:
  // INVALID_ARGUMENT for bad options; an error naming `dir` when it cannot be
  // created.
  static absl::StatusOr<std::unique_ptr<CheckpointManager>> Create(
      const std::string& dir, CheckpointManagerOptions options, Clock* clock);

  // Writes `contents` with write_time set to the clock's now, then Commit()s.
  absl::StatusOr<std::string> Save(const CheckpointContents& contents);

  // For writing tensor by tensor: a writer for `metadata` (write_time set to
  // the clock's now). Add tensors to it, then pass it to Commit().
  absl::StatusOr<std::unique_ptr<CheckpointWriter>> NewWriter(CheckpointMetadata metadata);
  // Finishes `writer`, records the checkpoint as latest in the state file and
  // deletes checkpoints rotated out. Returns the checkpoint's name.
  absl::StatusOr<std::string> Commit(std::unique_ptr<CheckpointWriter> writer);

  const std::string& dir() const { return dir_; }
  // A copy of the state as last written.
  CheckpointState state() const;

 private:
  CheckpointManager(std::string dir, CheckpointManagerOptions options, FileSystem* fs,
                    Clock* clock, CheckpointState state)
      : dir_(std::move(dir)),
        options_(options),
        fs_(fs),
        clock_(clock),
        state_(std::move(state)) {}
  // Picks the entries to delete; updates state_.
  std::vector<std::string> Rotate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const CheckpointManagerOptions options_;
  FileSystem* const fs_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  CheckpointState state_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_COMMON_CHECKPOINT_CHECKPOINT_MANAGER_H_
