// Text ModelDef (nn/model_def.h) and the model built from it
// (Model::FromModelDef): any text is a syntax error, a model the builder
// refuses with INVALID_ARGUMENT, or a model whose shapes are valid; a small
// enough model then runs one training step and one evaluation on a batch of
// two (the shapes the builder computed must be the shapes the layers use).

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/dataset.h"
#include "common/tensor.h"
#include "fuzz/fuzz_support.h"
#include "nn/model.h"
#include "nn/model_def.h"

namespace {

// Bounds on what one input may cost to run.
constexpr int64_t kMaxInputElements = 4096;
constexpr int64_t kMaxVariableElements = 1 << 16;
constexpr int64_t kMaxActivationElements = 1 << 16;
constexpr int64_t kMaxMultiplyAdds = 1 << 22;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ModelDef> def = ParseModelDef(text, "model.pbtxt");
  if (!def.ok()) return 0;
  absl::StatusOr<std::unique_ptr<Model>> model = Model::FromModelDef(*def);
  if (!model.ok()) {
    FUZZ_CHECK(model.status().code() == absl::StatusCode::kInvalidArgument,
               model.status().ToString());
    return 0;
  }
  const Model& m = **model;
  FUZZ_CHECK(ValidateShape(m.input_shape(), "input").ok(), ShapeString(m.input_shape()));
  int64_t variable_elements = 0;
  for (const VariableSpec& v : m.variables()) {
    FUZZ_CHECK(ValidateShape(v.shape, v.name).ok(), absl::StrCat(v.name, ShapeString(v.shape)));
    variable_elements += NumElements(v.shape);
  }
  int64_t activation_elements = 0, multiply_adds = 0;
  for (const auto& layer : m.layers()) {
    FUZZ_CHECK(ValidateShape(layer->output_shape(), "output").ok(),
               ShapeString(layer->output_shape()));
    activation_elements += NumElements(layer->output_shape());
    multiply_adds += layer->MultiplyAddsPerExample();
  }
  const int64_t input_elements = NumElements(m.input_shape());
  if (input_elements > kMaxInputElements || variable_elements > kMaxVariableElements ||
      activation_elements > kMaxActivationElements || multiply_adds > kMaxMultiplyAdds) {
    return 0;
  }

  std::vector<Tensor> values = (*model)->InitialValues(/*seed=*/7);
  FUZZ_CHECK(values.size() == m.variables().size(), "InitialValues");
  std::vector<const Tensor*> params;
  for (const Tensor& t : values) params.push_back(&t);
  Dataset batch;
  Shape input_shape = m.input_shape();
  input_shape.insert(input_shape.begin(), 2);
  batch.inputs = Tensor(input_shape);
  for (int64_t i = 0; i < batch.inputs.size(); ++i) {
    batch.inputs.data()[i] = static_cast<float>(i % 7) / 7.0f;
  }
  if (m.is_classifier()) {
    batch.labels = {0, static_cast<int32_t>(NumElements(m.output_shape()) - 1)};
  } else {
    Shape target_shape = m.output_shape();
    target_shape.insert(target_shape.begin(), 2);
    batch.targets = Tensor(target_shape);
  }
  std::vector<Tensor> grads;
  absl::StatusOr<float> loss = (*model)->ComputeGradients(params, batch, /*step_seed=*/1, &grads);
  if (loss.ok()) {
    FUZZ_CHECK(grads.size() == values.size(), "one gradient per variable");
    for (size_t i = 0; i < grads.size(); ++i) {
      FUZZ_CHECK(grads[i].shape() == values[i].shape(), m.variables()[i].name);
    }
  }
  (void)(*model)->Evaluate(params, batch);
  return 0;
}
