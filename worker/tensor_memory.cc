#include "worker/tensor_memory.h"

#include <cstddef>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

// Each tensor starts on a cache line (and the kernels' vector loads).
constexpr size_t kAlignment = 64;

size_t Aligned(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

absl::StatusOr<std::shared_ptr<SharedMemory>> MakeSharedTensors(const std::vector<Shape>& shapes,
                                                                std::vector<Tensor>* values,
                                                                std::vector<Tensor>* grads) {
  values->clear();
  grads->clear();
  size_t per_copy = 0;
  for (const Shape& shape : shapes) {
    per_copy += Aligned(static_cast<size_t>(NumElements(shape)) * sizeof(float));
  }
  if (per_copy == 0) {
    return absl::InvalidArgumentError("shared tensors: the variables have no elements");
  }
  ASSIGN_OR_RETURN(
      std::shared_ptr<SharedMemory> memory,
      SharedMemory::Create(2 * per_copy, absl::StrCat("shared memory for the variables and "
                                                      "gradients (",
                                                      2 * per_copy, " bytes)")));
  size_t offset = 0;
  for (std::vector<Tensor>* tensors : {values, grads}) {
    for (const Shape& shape : shapes) {
      tensors->push_back(
          Tensor::Borrowing(shape, reinterpret_cast<float*>(memory->data() + offset)));
      offset += Aligned(static_cast<size_t>(NumElements(shape)) * sizeof(float));
    }
  }
  return memory;
}

}  // namespace tessera
