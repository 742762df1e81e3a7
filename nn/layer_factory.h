#ifndef TESSERA_NN_LAYER_FACTORY_H_
#define TESSERA_NN_LAYER_FACTORY_H_

// Builds a Layer from its LayerDef (protos/model.proto).

#include <memory>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "nn/layer.h"
#include "protos/model.pb.h"

namespace tessera {

// The layer `def` (the `index`-th of its model) for examples of `input_shape`.
// INVALID_ARGUMENT naming the layer ("layer 2 'conv1': ...") when the kind is unset,
// a parameter is out of range, an initializer is invalid, or the input shape does not
// suit the layer (conv and pooling need [H, W, C]; outputs must be non-empty).
absl::StatusOr<std::unique_ptr<Layer>> MakeLayer(const LayerDef& def, int index,
                                                 const Shape& input_shape);

}  // namespace tessera

#endif  // TESSERA_NN_LAYER_FACTORY_H_
