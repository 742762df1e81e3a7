#include "nn/model_summary.h"

#include "nn/model_def.h"
#include "nn/model_graph.h"

namespace tessera {

ModelSummary SummarizeModel(const Model& model) {
  ModelSummary summary;
  summary.name = model.name();
  summary.input_shape = model.input_shape();
  for (size_t i = 0; i < model.layers().size(); ++i) {
    const Layer& layer = *model.layers()[i];
    LayerSummary row;
    row.name = layer.name();
    row.kind = LayerKindName(model.def().layer(static_cast<int>(i)));
    for (int source : model.layer_inputs()[i]) row.inputs.push_back(InputName(model.def(), source));
    row.output_shape = layer.output_shape();
    for (const VariableSpec& v : layer.Variables()) {
      (v.kind == TRAINABLE ? row.parameters : row.non_trainable) += NumElements(v.shape);
    }
    row.multiply_adds = layer.MultiplyAddsPerExample();
    summary.parameters += row.parameters;
    summary.non_trainable += row.non_trainable;
    summary.multiply_adds += row.multiply_adds;
    summary.layers.push_back(std::move(row));
  }
  return summary;
}

}  // namespace tessera
