#ifndef TESSERA_COMMON_OPTIM_MOVING_AVERAGE_H_
#define TESSERA_COMMON_OPTIM_MOVING_AVERAGE_H_

// The update of a MOVING_AVERAGE variable (protos/variable.proto), as
// TensorFlow's tf.train.assign_moving_average runs it on the variable:
//
//   var -= delta,   delta = (1 - decay) * (var_read - value)
//
// The worker computes delta from the value it pulled (nn/batch_norm.h) and
// pushes it like a gradient; the parameter servers and in-process training
// subtract it with no optimizer: no learning rate, no slots, no weight decay.
// Under SYNC the ps subtracts the mean of the replicas' deltas, which, with
// every replica having pulled the same var, is (1 - decay) * (var - mean of
// the replicas' values). Pure function; thread-compatible.

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace tessera {

// var -= delta elementwise. INVALID_ARGUMENT (changing nothing) when the
// sizes differ.
absl::Status ApplyMovingAverageDelta(absl::Span<float> var, absl::Span<const float> delta);

}  // namespace tessera

#endif  // TESSERA_COMMON_OPTIM_MOVING_AVERAGE_H_
