#ifndef TESSERA_WORKER_TENSOR_MEMORY_H_
#define TESSERA_WORKER_TENSOR_MEMORY_H_

// The worker's variables and gradients in memory shared with the ps of its
// host (docs/protocol.md, "Shared memory"). Registered with each such ps
// (ClientSegments::Tensors), they leave and arrive in place: a push's chunks
// name where each gradient already is, and a pull asks the ps to write each
// block's values where the variable is (PullRequest.segment_offsets). The
// worker then copies neither, where otherwise it copies each gradient into
// its push segment and each value out of its pull segment, every step.
//
//   ASSIGN_OR_RETURN(std::shared_ptr<SharedMemory> memory,
//                    MakeSharedTensors(shapes, &values, &grads));
//   ps_group->ShareTensorMemory(memory);  // keep `memory` as long as the tensors

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc/shared_segment.h"
#include "common/tensor.h"

namespace tessera {

// Fills `values` and `grads` (emptied first) with one zeroed tensor of each
// of `shapes`, all borrowing (Tensor::Borrowing) one piece of shared memory,
// each at a 64-byte boundary: the values first, then the gradients. The
// memory must outlive the tensors. Errors (no elements at all, a failed
// system call) leave both vectors empty.
absl::StatusOr<std::shared_ptr<SharedMemory>> MakeSharedTensors(const std::vector<Shape>& shapes,
                                                                std::vector<Tensor>* values,
                                                                std::vector<Tensor>* grads);

}  // namespace tessera

#endif  // TESSERA_WORKER_TENSOR_MEMORY_H_
