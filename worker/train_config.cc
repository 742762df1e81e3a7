#include "worker/train_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/optim/optimizer.h"
#include "common/status_macros.h"
#include "common/text_proto.h"
#include "data/image_shard_input.h"

namespace tessera {
namespace {

absl::Status Invalid(absl::string_view source, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
}

}  // namespace

void ApplyDefaults(TrainConfig* c) {
  if (c->batch_size() == 0) c->set_batch_size(50);
  if (c->seed() == 0) c->set_seed(1);
  if (c->partition_bytes() == 0) c->set_partition_bytes(1 << 20);
  if (c->log_every_steps() == 0) c->set_log_every_steps(100);
  if (!c->has_eval_at_end()) c->set_eval_at_end(true);
  if (c->rpc_timeout_secs() == 0) c->set_rpc_timeout_secs(60);
  if (c->startup_timeout_secs() == 0) c->set_startup_timeout_secs(600);
  if (!c->has_max_to_keep()) c->set_max_to_keep(5);
  if (c->save_summaries_steps() == 0) c->set_save_summaries_steps(100);
  if (c->sync_timeout_secs() == 0) c->set_sync_timeout_secs(300);
  if (c->worker_timeout_secs() == 0) c->set_worker_timeout_secs(60);
  if (c->save_histograms_steps() == 0) {
    c->set_save_histograms_steps(10 * c->save_summaries_steps());
  }
}

absl::Status ValidateTrainConfig(const TrainConfig& c, absl::string_view source) {
  if (c.model().layer_size() == 0) {
    return Invalid(source, "no model: set model_file or model { ... }");
  }
  if (c.data().source_case() == DataConfig::SOURCE_NOT_SET) {
    return Invalid(source, "no data source: set data { idx {...} }, csv, inline_data or image_shards");
  }
  if (c.batch_size() <= 0) {
    return Invalid(source, absl::StrCat("batch_size must be > 0, got ", c.batch_size()));
  }
  if (c.compute_threads() < 0 || c.compute_threads() > 256) {
    return Invalid(source, absl::StrCat("compute_threads must be in [0, 256] (0: OpenBLAS's "
                                        "thread count), got ", c.compute_threads()));
  }
  if (!ComputeSplit_IsValid(c.compute_split())) {
    return Invalid(source,
                   absl::StrCat("unknown compute_split ", static_cast<int>(c.compute_split())));
  }
  if (!TensorEncoding_IsValid(c.transport_encoding())) {
    return Invalid(source, absl::StrCat("unknown transport_encoding ",
                                        static_cast<int>(c.transport_encoding()),
                                        " (known: FLOAT32, BFLOAT16)"));
  }
  if (c.max_steps() <= 0) {
    return Invalid(source, absl::StrCat("max_steps must be > 0, got ", c.max_steps()));
  }
  if (c.partition_bytes() < 4) {
    return Invalid(source,
                   absl::StrCat("partition_bytes must be at least 4, got ", c.partition_bytes()));
  }
  if (c.log_every_steps() < 0) {
    return Invalid(source,
                   absl::StrCat("log_every_steps must be >= 0, got ", c.log_every_steps()));
  }
  if (!(c.rpc_timeout_secs() > 0)) {
    return Invalid(source,
                   absl::StrCat("rpc_timeout_secs must be > 0, got ", c.rpc_timeout_secs()));
  }
  if (!(c.startup_timeout_secs() > 0)) {
    return Invalid(source, absl::StrCat("startup_timeout_secs must be > 0, got ",
                                        c.startup_timeout_secs()));
  }
  if (c.save_summaries_steps() <= 0) {
    return Invalid(source, absl::StrCat("save_summaries_steps must be > 0, got ",
                                        c.save_summaries_steps()));
  }
  if (c.save_checkpoint_secs() < 0 || c.save_checkpoint_steps() < 0 || c.max_to_keep() < 0 ||
      c.keep_checkpoint_every_n_hours() < 0) {
    return Invalid(source, "save_checkpoint_secs, save_checkpoint_steps, max_to_keep and "
                           "keep_checkpoint_every_n_hours must be >= 0");
  }
  if (!UpdateMode_IsValid(c.update_mode())) {
    return Invalid(source, absl::StrCat("unknown update_mode ", static_cast<int>(c.update_mode())));
  }
  if (c.replicas_to_aggregate() < 0 || c.total_replicas() < 0) {
    return Invalid(source, absl::StrCat("replicas_to_aggregate (", c.replicas_to_aggregate(),
                                        ") and total_replicas (", c.total_replicas(),
                                        ") must be >= 0 (0: the number of workers)"));
  }
  if (c.replicas_to_aggregate() > 0 && c.total_replicas() > 0 &&
      c.replicas_to_aggregate() > c.total_replicas()) {
    return Invalid(source, absl::StrCat("replicas_to_aggregate ", c.replicas_to_aggregate(),
                                        " exceeds total_replicas ", c.total_replicas()));
  }
  if (c.staleness() < 0) {
    return Invalid(source, absl::StrCat("staleness must be >= 0, got ", c.staleness()));
  }
  if (!(c.sync_timeout_secs() > 0) || !(c.worker_timeout_secs() > 0)) {
    return Invalid(source, absl::StrCat("sync_timeout_secs (", c.sync_timeout_secs(),
                                        ") and worker_timeout_secs (", c.worker_timeout_secs(),
                                        ") must be > 0"));
  }
  if (c.data().has_image_shards()) {
    const Shape input_shape(c.model().input_shape().begin(), c.model().input_shape().end());
    RETURN_IF_ERROR(Annotate(ValidateImageShardSource(c.data().image_shards(), input_shape), source));
  }
  return Annotate(ValidateOptimizerConfig(c.optimizer()), absl::StrCat(source, ": optimizer"));
}

absl::Status ValidateUpdateMode(const TrainConfig& c, int num_workers) {
  const int total = c.total_replicas() > 0 ? c.total_replicas() : num_workers;
  const int replicas = c.replicas_to_aggregate() > 0 ? c.replicas_to_aggregate() : num_workers;
  if (total > num_workers) {
    return absl::InvalidArgumentError(absl::StrCat("total_replicas ", total, " exceeds the ",
                                                   num_workers, " workers of the cluster"));
  }
  if (replicas > total) {
    return absl::InvalidArgumentError(absl::StrCat("replicas_to_aggregate ", replicas,
                                                   " exceeds total_replicas ", total,
                                                   c.total_replicas() > 0 ? "" : " (the workers)"));
  }
  return absl::OkStatus();
}

absl::Status ApplyOverrides(const TrainOverrides& o, TrainConfig* c) {
  if (o.max_steps) c->set_max_steps(*o.max_steps);
  if (o.batch_size) c->set_batch_size(*o.batch_size);
  if (o.learning_rate) c->mutable_optimizer()->set_learning_rate(*o.learning_rate);
  if (o.seed) c->set_seed(*o.seed);
  if (o.checkpoint_dir) c->set_checkpoint_dir(*o.checkpoint_dir);
  if (o.summary_dir) c->set_summary_dir(*o.summary_dir);
  if (o.update_mode) {
    UpdateMode mode;
    if (!UpdateMode_Parse(absl::AsciiStrToUpper(*o.update_mode), &mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--update_mode must be async, sync or stale, got \"", *o.update_mode, "\""));
    }
    c->set_update_mode(mode);
  }
  if (o.transport_encoding) {
    TensorEncoding encoding;
    if (!TensorEncoding_Parse(absl::AsciiStrToUpper(*o.transport_encoding), &encoding)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--transport_encoding must be float32 or bfloat16, got \"", *o.transport_encoding, "\""));
    }
    c->set_transport_encoding(encoding);
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainConfig> LoadTrainConfig(const std::string& path,
                                            const TrainOverrides& overrides) {
  TrainConfig config;
  RETURN_IF_ERROR(ReadTextProtoFile(path, "training config", &config));
  if (!config.model_file().empty()) {
    if (config.model().layer_size() > 0) {
      return Invalid(path, "set either model_file or model, not both");
    }
    RETURN_IF_ERROR(ReadTextProtoFile(JoinPath(Dirname(path), config.model_file()),
                                      "model file", config.mutable_model()));
  }
  ApplyDefaults(&config);
  RETURN_IF_ERROR(ApplyOverrides(overrides, &config));
  // After the overrides: --checkpoint_dir may turn checkpoints on.
  if (!config.checkpoint_dir().empty() && config.save_checkpoint_secs() == 0 &&
      config.save_checkpoint_steps() == 0) {
    config.set_save_checkpoint_secs(600);
  }
  RETURN_IF_ERROR(ValidateTrainConfig(config, path));
  return config;
}

}  // namespace tessera
