#ifndef TESSERA_NN_MODEL_SUMMARY_H_
#define TESSERA_NN_MODEL_SUMMARY_H_

// What a model is made of, layer by layer: kind, inputs, output shape,
// parameters and multiply-adds per example (`tessera_ctl model summary`).

#include <cstdint>
#include <string>
#include <vector>

#include "common/tensor.h"
#include "nn/model.h"

namespace tessera {

struct LayerSummary {
  std::string name;
  std::string kind;                 // as in the ModelDef: "conv2d", "add", ...
  std::vector<std::string> inputs;  // layer names, or "input" for the model's
  Shape output_shape;               // one example's
  int64_t parameters = 0;           // elements of the layer's TRAINABLE variables
  int64_t non_trainable = 0;        // elements of its moving averages (batch norm)
  int64_t multiply_adds = 0;        // per example, in matrix products (dense, conv2d)
};

struct ModelSummary {
  std::string name;
  Shape input_shape;
  std::vector<LayerSummary> layers;  // in def order
  int64_t parameters = 0;            // sum over the layers
  int64_t non_trainable = 0;         // sum over the layers
  int64_t multiply_adds = 0;         // per example, sum over the layers
};

// Parameters count the trainable variables (batch norm's gamma and beta
// included, its moving mean and variance not: as torchvision and TensorFlow
// count ResNet-50's 25.557 M); non_trainable counts the moving averages (Keras'
// "non-trainable params"). Multiply-adds count the forward pass's
// products of convolutions (output positions x kernel x input channels x
// filters) and dense layers (inputs x units); additions of biases, batch
// norm, pooling and the like are left out, as in the usual FLOP counts.
ModelSummary SummarizeModel(const Model& model);

}  // namespace tessera

#endif  // TESSERA_NN_MODEL_SUMMARY_H_
