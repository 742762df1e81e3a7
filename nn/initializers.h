#ifndef TESSERA_NN_INITIALIZERS_H_
#define TESSERA_NN_INITIALIZERS_H_

// Initial variable values from an Initializer (protos/model.proto), deterministic
// in the seed on every platform.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/tensor.h"
#include "protos/model.pb.h"

namespace tessera {

// INVALID_ARGUMENT naming `what` when the initializer cannot be used: unset kind,
// truncated_normal stddev <= 0 or not finite, non-finite constants.
absl::Status ValidateInitializer(const Initializer& initializer, absl::string_view what);

// A tensor of `shape` filled per `initializer` (which must be valid):
//  - truncated_normal: mean + stddev * z, z standard normal redrawn while |z| > 2;
//  - constant / zeros;
//  - glorot_uniform: Uniform(-l, l), l = sqrt(6 / (fan_in + fan_out)), with
//    fan_in, fan_out = (d0, d1) for rank 2, (d2 * d0 * d1, d3 * d0 * d1) for a conv
//    kernel [KH, KW, Cin, Cout], (d0, d0) for rank 1, as TensorFlow.
Tensor InitialTensor(const Initializer& initializer, const Shape& shape, uint64_t seed);

}  // namespace tessera

#endif  // TESSERA_NN_INITIALIZERS_H_
