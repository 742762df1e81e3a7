#ifndef TESSERA_NN_MODEL_TEST_UTIL_H_
#define TESSERA_NN_MODEL_TEST_UTIL_H_

// Helpers shared by the Model tests (model_test.cc, model_split_test.cc).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/dataset.h"
#include "common/tensor.h"
#include "nn/model.h"

namespace tessera {

// Pointers to `tensors`' elements, as Model takes params; they borrow `tensors`.
std::vector<const Tensor*> Pointers(const std::vector<Tensor>& tensors);

// The model of examples/models/<name>.pbtxt (a data dependency of the test), or
// null after a failed EXPECT naming the error.
std::unique_ptr<Model> LoadExample(const std::string& name);

// The model of the ModelDef text `text`, or null after a failed EXPECT.
std::unique_ptr<Model> FromText(const std::string& text);

// Checks `model`'s ComputeGradients on `batch` (step seed `seed`) against
// central differences of its loss with step `epsilon`, for every element of
// every TRAINABLE variable; a mismatch beyond 2e-3 + 3e-2 * |numeric| is a failed EXPECT
// (the first few are reported). Returns the number of mismatches.
int CheckModelGradients(Model* model, std::vector<Tensor> params, const Dataset& batch,
                        uint64_t seed, double epsilon = 3e-3);

// Runs ComputeGradients and Evaluate on `batch` once (so the Model's buffers
// exist), then `steps` more times, and returns how many bytes the heap grew
// over those steps (0 when they allocated nothing for good): bytes malloc has
// handed out, mmapped chunks included, as mallinfo2() counts them, which is
// the live heap only with the tcache off (the tests' GLIBC_TUNABLES in BUILD).
// A failed step is a failed EXPECT.
int64_t HeapGrowthOverSteps(Model* model, const std::vector<Tensor>& params,
                            const Dataset& batch, int steps);

}  // namespace tessera

#endif  // TESSERA_NN_MODEL_TEST_UTIL_H_
