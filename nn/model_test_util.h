#ifndef TESSERA_NN_MODEL_TEST_UTIL_H_
#define TESSERA_NN_MODEL_TEST_UTIL_H_

// Helpers shared by the Model tests (model_test.cc, model_split_test.cc).

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/tensor.h"
#include "nn/model.h"

namespace tessera {

// Bytes malloc has handed out, mmapped chunks (large buffers) included; with
// the tcache off (the tests' GLIBC_TUNABLES in BUILD), freed chunks are not
// among them.
size_t HeapBytes();

// Pointers to `tensors`' elements, as Model takes params; they borrow `tensors`.
std::vector<const Tensor*> Pointers(const std::vector<Tensor>& tensors);

// The model of examples/models/<name>.pbtxt (a data dependency of the test), or
// null after a failed EXPECT naming the error.
std::unique_ptr<Model> LoadExample(const std::string& name);

// The model of the ModelDef text `text`, or null after a failed EXPECT.
std::unique_ptr<Model> FromText(const std::string& text);

}  // namespace tessera

#endif  // TESSERA_NN_MODEL_TEST_UTIL_H_
