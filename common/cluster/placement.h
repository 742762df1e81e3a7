#ifndef TESSERA_COMMON_CLUSTER_PLACEMENT_H_
#define TESSERA_COMMON_CLUSTER_PLACEMENT_H_

// Placement of model variables on parameter-server tasks: a pure function
// every worker computes the same way.
//
//   1. A variable of more than `partition_bytes` bytes (and more than one row)
//      is split along dimension 0 into near-equal row blocks. The number of
//      blocks is ceil(bytes / partition_bytes) rounded up to a multiple of the
//      number of ps tasks (so a large variable spreads evenly), at most one
//      block per row. Blocks are named "<variable>/part_<i>".
//   2. Blocks and unsplit variables go to ps tasks greedily: largest first
//      (ties by name), each to the ps with the fewest bytes so far (ties to the
//      lower task).
//
// The plan's fingerprint is a stable 64-bit FNV-1a hash of the plan (with each
// non-TRAINABLE block's kind), printed as 16 hex digits; a ps refuses a worker
// whose fingerprint differs.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "protos/variable.pb.h"

namespace tessera {

struct VariableInfo {
  std::string name;
  Shape shape;
  // MOVING_AVERAGE: updated on the ps by value -= delta, without slots
  // (protos/variable.proto).
  VariableKind kind = TRAINABLE;
};

struct PlacedBlock {
  std::string name;      // block name ("fc1/weights" or "fc1/weights/part_3")
  std::string variable;  // the variable it belongs to
  Shape shape;           // the block's shape
  int64_t row_offset = 0;
  int ps_task = 0;
  VariableKind kind = TRAINABLE;  // the variable's
  int64_t bytes() const { return NumElements(shape) * 4; }
};

struct PlacementPlan {
  int num_ps = 0;
  std::vector<PlacedBlock> blocks;  // in variable order, parts in row order
  std::vector<int64_t> ps_bytes;    // bytes placed on each ps
  std::string fingerprint;

  // Indices into `blocks` of the blocks on `ps_task`, in `blocks` order.
  std::vector<int> BlocksOn(int ps_task) const;
  // Indices into `blocks` of the blocks of `variable`, in row order.
  std::vector<int> BlocksOf(const std::string& variable) const;
};

// INVALID_ARGUMENT for num_ps < 1, partition_bytes < 4, duplicate or empty
// variable names, or invalid shapes; each message names the variable.
absl::StatusOr<PlacementPlan> PlaceVariables(const std::vector<VariableInfo>& variables,
                                             int num_ps, int64_t partition_bytes);

}  // namespace tessera

#endif  // TESSERA_COMMON_CLUSTER_PLACEMENT_H_
