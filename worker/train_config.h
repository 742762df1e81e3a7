#ifndef TESSERA_WORKER_TRAIN_CONFIG_H_
#define TESSERA_WORKER_TRAIN_CONFIG_H_

// Loading and checking the training configuration (protos/train_config.proto):
// the text file every worker reads, plus the few flags that override it.
// docs/configuration.md lists every field with its default.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "protos/train_config.pb.h"

namespace tessera {

// Worker flags that override the file. Unset fields leave the file's value.
struct TrainOverrides {
  std::optional<int64_t> max_steps;
  std::optional<int32_t> batch_size;
  std::optional<float> learning_rate;
  std::optional<std::string> update_mode;  // "async", "sync" or "stale"
  std::optional<uint64_t> seed;
  std::optional<std::string> summary_dir;
  std::optional<std::string> checkpoint_dir;
  std::optional<std::string> transport_encoding;  // "float32" or "bfloat16"
};

// Fills unset fields with their defaults (batch_size 50, seed 1,
// partition_bytes 1 MiB, log_every_steps 100, eval_at_end true,
// rpc_timeout_secs 60, startup_timeout_secs 600, sync_timeout_secs 300,
// worker_timeout_secs 60, save_summaries_steps 100,
// save_histograms_steps 10 * save_summaries_steps, max_to_keep 5).
// LoadTrainConfig also sets save_checkpoint_secs to 600 when checkpoint_dir
// is set (after overrides) and neither save_checkpoint_secs nor
// save_checkpoint_steps is.
void ApplyDefaults(TrainConfig* config);

// INVALID_ARGUMENT naming `source` and the field for a value out of range, a
// missing model or data source, or a bad optimizer.
absl::Status ValidateTrainConfig(const TrainConfig& config, absl::string_view source);

// The SYNC settings against the cluster: replicas_to_aggregate <=
// total_replicas <= num_workers (0 meaning num_workers). INVALID_ARGUMENT
// naming the field.
absl::Status ValidateUpdateMode(const TrainConfig& config, int num_workers);

// Applies `overrides`; INVALID_ARGUMENT naming the flag for a bad value.
absl::Status ApplyOverrides(const TrainOverrides& overrides, TrainConfig* config);

// Reads the text proto at `path`, reads `model_file` (relative to the config
// file's directory) into `model`, applies defaults, then `overrides`, then
// validates. Errors name the file, and for syntax errors line and column.
absl::StatusOr<TrainConfig> LoadTrainConfig(const std::string& path,
                                            const TrainOverrides& overrides = {});

}  // namespace tessera

#endif  // TESSERA_WORKER_TRAIN_CONFIG_H_
