#ifndef TESSERA_NN_LAYER_THREADS_H_
#define TESSERA_NN_LAYER_THREADS_H_

// The threads a layer's own loops (batch norm, ReLU, add, pooling, im2col,
// Winograd's transforms) run on: as many as OpenBLAS's thread count at the
// call. In a BLAS_THREADS step (nn/model.h) that is the step's compute
// threads, so every layer keeps every core busy, not only the matrix
// products; on a split batch's slice threads it is 1 and the loops stay on the
// calling thread.
//
// The threads are one ParallelRunner per calling thread (made on first use,
// joined when that thread exits), shared by every layer of every model the
// thread runs. A call made from inside a part runs serially.

#include <algorithm>
#include <cstdint>

#include "absl/functional/function_ref.h"

namespace tessera {

// Parts for `count` items with at least `min_per_part` items each (>= 1):
// between 1 and OpenBLAS's thread count (1 inside a part).
int LayerParts(int64_t count, int64_t min_per_part);

// Runs fn(part, begin, end) for part in [0, parts) over consecutive ranges
// cutting [0, count): part i gets [count * i / parts, count * (i + 1) / parts).
// Part 0 runs on the calling thread; returns when every part has returned.
// `parts` is LayerParts' (or 1); fn must be safe on several threads at once.
void RunLayerParts(int parts, int64_t count,
                   absl::FunctionRef<void(int part, int64_t begin, int64_t end)> fn);

// RunLayerParts for parts that call OpenBLAS themselves: while more than one
// part runs, OpenBLAS is set to 1 thread (process-wide; restored after), so
// each part's sgemms run on its own thread. A single part runs on the calling
// thread with OpenBLAS's thread count unchanged.
void RunLayerPartsOnSerialBlas(int parts, int64_t count,
                               absl::FunctionRef<void(int part, int64_t begin, int64_t end)> fn);

// sum[i] += the parts' sums part_sums(p)[i] for p = 1 .. parts - 1, in part
// order (so a thread count always gives the same result), i in [0, count),
// cut over the layer threads.
void AddPartSums(float* sum, int parts, int64_t count,
                 absl::FunctionRef<const float*(int part)> part_sums);

// Both: fn(begin, end) over LayerParts(count, min_per_part) ranges.
void LayerParallelFor(int64_t count, int64_t min_per_part,
                      absl::FunctionRef<void(int64_t begin, int64_t end)> fn);

// Elementwise loops get a part when they have at least this many floats
// (128 KB): below it, waking a thread costs more than it saves.
inline constexpr int64_t kMinElementsPerPart = 32 * 1024;

// The min_per_part for loops over items (rows, images) of `elements` floats
// each: enough items for kMinElementsPerPart floats, at least 1.
inline int64_t ItemsPerPart(int64_t elements) {
  return std::max<int64_t>(kMinElementsPerPart / std::max<int64_t>(elements, 1), 1);
}

}  // namespace tessera

#endif  // TESSERA_NN_LAYER_THREADS_H_
