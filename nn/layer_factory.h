#ifndef TESSERA_NN_LAYER_FACTORY_H_
#define TESSERA_NN_LAYER_FACTORY_H_

// Builds a Layer from its LayerDef (protos/model.proto).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/tensor.h"
#include "nn/layer.h"
#include "protos/model.pb.h"

namespace tessera {

// One input of a layer: the name it goes by in the model (for errors) and one
// example's shape.
struct LayerInput {
  std::string name;
  Shape shape;
};

// The layer `def` (the `index`-th of its model) reading `inputs`. INVALID_ARGUMENT
// naming the layer ("layer 2 'conv1': ...") when the kind is unset, a parameter is
// out of range, an initializer is invalid, the number of inputs does not suit the
// kind (add and concat: 2 or more, the others 1), or an input shape does not suit
// the layer (conv and pooling need [H, W, C]; add needs equal shapes and concat
// equal dimensions but the last, naming the input that differs; outputs must be
// non-empty).
absl::StatusOr<std::unique_ptr<Layer>> MakeLayer(const LayerDef& def, int index,
                                                 absl::Span<const LayerInput> inputs);

}  // namespace tessera

#endif  // TESSERA_NN_LAYER_FACTORY_H_
