#ifndef TESSERA_NN_MODEL_GRAPH_H_
#define TESSERA_NN_MODEL_GRAPH_H_

// The graph of a ModelDef: which outputs each layer reads (LayerDef.inputs,
// protos/model.proto), resolved from names to layer indices and checked.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "protos/model.pb.h"

namespace tessera {

// A layer input that is the model's input rather than a layer's output, and
// the name that refers to it in LayerDef.inputs.
inline constexpr int kModelInput = -1;
inline constexpr char kModelInputName[] = "input";

// Per layer of `def`, in def order, the index of each layer whose output it
// reads (kModelInput for the model's input), in the order of its `inputs`; a
// layer without `inputs` reads the previous layer (the first layer, the
// model's input). Every index is below the layer's own, so def order is a
// topological order. INVALID_ARGUMENT naming the layer ("layer 3 'add':
// ...") and, where one is to blame, the input for: a layer without a name, a
// name with '/', a duplicate name or one that is kModelInputName; an input
// that names no layer, the layer itself or a later layer (which would allow a
// cycle); a layer other than the last whose output no layer reads. The
// messages do not name the model (the caller adds it).
absl::StatusOr<std::vector<std::vector<int>>> ResolveLayerInputs(const ModelDef& def);

// The name of input `source` of a graph: a layer's name, or kModelInputName.
std::string InputName(const ModelDef& def, int source);

}  // namespace tessera

#endif  // TESSERA_NN_MODEL_GRAPH_H_
