#include "nn/model_test_util.h"

#include <malloc.h>

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
