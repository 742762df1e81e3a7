#ifndef TESSERA_WORKER_MODEL_FINGERPRINT_H_
#define TESSERA_WORKER_MODEL_FINGERPRINT_H_

// The model fingerprint stored in checkpoints: what must match for a
// checkpoint to restore onto a model. It covers the variables' names, shapes
// and kinds (model order; a kind only when not TRAINABLE, so models without
// moving averages keep their fingerprints) and the optimizer's kind and slot
// names, but not the
// placement, so a checkpoint restores onto any number of ps tasks, and not
// hyperparameters such as the learning rate, which may change between jobs.
// Pure functions; thread-safe.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/cluster/placement.h"
#include "protos/optimizer.pb.h"

namespace tessera {

// "<optimizer>:<16 hex digits>", e.g. "adam:3f2a9c0d11e0b7a4" (FNV-1a 64 of
// the names, shapes and slot names). INVALID_ARGUMENT for a bad optimizer
// config.
absl::StatusOr<std::string> ModelFingerprint(const std::vector<VariableInfo>& variables,
                                             const OptimizerConfig& optimizer);

// The optimizer's slot names (SlotNames() order) for `optimizer`.
absl::StatusOr<std::vector<std::string>> OptimizerSlotNames(const OptimizerConfig& optimizer);

}  // namespace tessera

#endif  // TESSERA_WORKER_MODEL_FINGERPRINT_H_
