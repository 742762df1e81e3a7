#include "nn/model_test_util.h"

#include <malloc.h>

#include <cmath>
#include <cstddef>
#include <utility>

#include "gtest/gtest.h"
#include "nn/model_def.h"

namespace tessera {

namespace {

size_t HeapBytes() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

}  // namespace

std::vector<const Tensor*> Pointers(const std::vector<Tensor>& tensors) {
  std::vector<const Tensor*> p;
  for (const Tensor& t : tensors) p.push_back(&t);
  return p;
}

std::unique_ptr<Model> LoadExample(const std::string& name) {
  auto def = ReadModelDefFile("examples/models/" + name + ".pbtxt");
  EXPECT_TRUE(def.ok()) << def.status();
  if (!def.ok()) return nullptr;
  auto model = Model::FromModelDef(*def);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(model).value() : nullptr;
}

std::unique_ptr<Model> FromText(const std::string& text) {
  auto def = ParseModelDef(text, "test");
  EXPECT_TRUE(def.ok()) << def.status();
  auto model = Model::FromModelDef(*def);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(model).value() : nullptr;
}

int CheckModelGradients(Model* model, std::vector<Tensor> params, const Dataset& batch,
                        uint64_t seed, double epsilon) {
  std::vector<Tensor> grads;
  const auto status = model->ComputeGradients(Pointers(params), batch, seed, &grads);
  EXPECT_TRUE(status.ok()) << status.status();
  if (!status.ok()) return 1;
  const std::vector<Tensor> analytic = grads;
  auto loss = [&]() {
    auto value = model->ComputeGradients(Pointers(params), batch, seed, &grads);
    return value.ok() ? static_cast<double>(*value) : std::nan("");
  };
  int failures = 0;
  for (size_t v = 0; v < params.size(); ++v) {
    if (model->variables()[v].kind != TRAINABLE) continue;  // a delta, not a derivative
    for (int64_t i = 0; i < params[v].size(); ++i) {
      const float saved = params[v][i];
      params[v][i] = static_cast<float>(saved + epsilon);
      const double plus = loss();
      params[v][i] = static_cast<float>(saved - epsilon);
      const double minus = loss();
      params[v][i] = saved;
      const double numeric = (plus - minus) / (2 * epsilon);
      if (!(std::fabs(numeric - analytic[v][i]) <= 2e-3 + 3e-2 * std::fabs(numeric))) {
        if (failures++ < 5) {
          ADD_FAILURE() << model->variables()[v].name << "[" << i << "]: analytic "
                        << analytic[v][i] << " numeric " << numeric;
        }
      }
    }
  }
  return failures;
}

int64_t HeapGrowthOverSteps(Model* model, const std::vector<Tensor>& params,
                            const Dataset& batch, int steps) {
  const std::vector<const Tensor*> ptrs = Pointers(params);
  std::vector<Tensor> grads;
  EXPECT_TRUE(model->ComputeGradients(ptrs, batch, 0, &grads).ok());
  EXPECT_TRUE(model->Evaluate(ptrs, batch).ok());
  const size_t before = HeapBytes();
  for (int step = 1; step <= steps; ++step) {
    EXPECT_TRUE(model->ComputeGradients(ptrs, batch, step, &grads).ok());
    EXPECT_TRUE(model->Evaluate(ptrs, batch).ok());
  }
  return static_cast<int64_t>(HeapBytes()) - static_cast<int64_t>(before);
}

}  // namespace tessera
