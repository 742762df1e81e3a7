#ifndef TESSERA_COMMON_CHECKPOINT_CHECKPOINT_INTERNAL_H_
#define TESSERA_COMMON_CHECKPOINT_CHECKPOINT_INTERNAL_H_

// Helpers shared by the checkpoint writer, reader and manager; not a public
// API. All functions are thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protos/checkpoint.pb.h"

namespace tessera {

inline constexpr uint32_t kCheckpointFormatVersion = 1;
// Temporary files are "<final name>.tmp.<pid>".
inline constexpr absl::string_view kCheckpointTempInfix = ".tmp.";

// "variable \"w\"" or "slot \"m\" of variable \"w\"", for messages.
std::string CheckpointTensorName(absl::string_view variable, absl::string_view slot);

// The first variable of `index` that has slot entries but no value entry, or
// "" when there is none.
std::string FindVariableWithoutValue(const CheckpointIndex& index);

// The checkpoints whose files are in a directory.
struct CheckpointFileSet {
  std::string name;
  int64_t global_step = 0;
  bool has_data = false;
  bool has_index = false;
};

// Files named ckpt-<step>.data / .index in `dir` (temporary files are not),
// ascending by step. NOT_FOUND (or the errno's code) naming `dir`.
absl::StatusOr<std::vector<CheckpointFileSet>> ScanCheckpointDirectory(const std::string& dir);

}  // namespace tessera

#endif  // TESSERA_COMMON_CHECKPOINT_CHECKPOINT_INTERNAL_H_
