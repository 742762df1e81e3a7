#ifndef TESSERA_COMMON_OPTIM_LEARNING_RATE_H_
#define TESSERA_COMMON_OPTIM_LEARNING_RATE_H_

// Learning-rate schedules of TensorFlow 1.x (tf.train.exponential_decay,
// piecewise_constant, cosine_decay) plus linear warm-up, as pure functions of
// global_step. protos/optimizer.proto gives each formula. Thread-safe (no state).

#include <cstdint>

#include "absl/status/status.h"
#include "protos/optimizer.pb.h"

namespace tessera {

// INVALID_ARGUMENT naming the field, e.g.
// "schedule.exponential_decay.decay_steps must be > 0, got 0".
absl::Status ValidateLearningRateSchedule(const LearningRateSchedule& schedule);

// The learning rate at `global_step` (>= 0; negative counts as 0) for a
// schedule that passed ValidateLearningRateSchedule. `base_lr` is the
// optimizer's learning_rate; piecewise_constant ignores it (its values are
// absolute). An invalid schedule never crashes: a non-positive decay_steps
// disables that decay.
float LearningRate(const LearningRateSchedule& schedule, float base_lr,
                   int64_t global_step);

}  // namespace tessera

#endif  // TESSERA_COMMON_OPTIM_LEARNING_RATE_H_
