#include "nn/layer_threads.h"

#include <algorithm>
#include <memory>

#include "common/parallel_runner.h"
#include "nn/blas_kernel.h"

namespace tessera {
namespace {

thread_local std::unique_ptr<ParallelRunner> runner;
thread_local bool inside_part = false;

}  // namespace

int LayerParts(int64_t count, int64_t min_per_part) {
  if (inside_part || count <= 0) return 1;
  const int64_t by_size = count / std::max<int64_t>(min_per_part, 1);
  return static_cast<int>(std::clamp<int64_t>(by_size, 1, std::max(BlasThreads(), 1)));
}

void RunLayerParts(int parts, int64_t count, absl::FunctionRef<void(int, int64_t, int64_t)> fn) {
  if (parts <= 1 || inside_part) {
    if (count > 0) fn(0, 0, count);
    return;
  }
  if (runner == nullptr || runner->width() < parts) {
    runner = std::make_unique<ParallelRunner>(parts);
  }
  runner->Run(parts, [&](int i) {
    const bool was_inside = inside_part;
    inside_part = true;
    fn(i, count * i / parts, count * (i + 1) / parts);
    inside_part = was_inside;
  });
}

void RunLayerPartsOnSerialBlas(int parts, int64_t count,
                               absl::FunctionRef<void(int, int64_t, int64_t)> fn) {
  if (parts <= 1) {
    RunLayerParts(parts, count, fn);
    return;
  }
  ScopedBlasThreads serial(1);
  RunLayerParts(parts, count, fn);
}

void AddPartSums(float* sum, int parts, int64_t count,
                 absl::FunctionRef<const float*(int)> part_sums) {
  if (parts <= 1) return;
  LayerParallelFor(count, kMinElementsPerPart, [&](int64_t begin, int64_t end) {
    for (int p = 1; p < parts; ++p) {
      const float* add = part_sums(p);
      for (int64_t i = begin; i < end; ++i) sum[i] += add[i];
    }
  });
}

void LayerParallelFor(int64_t count, int64_t min_per_part,
                      absl::FunctionRef<void(int64_t, int64_t)> fn) {
  RunLayerParts(LayerParts(count, min_per_part), count,
                [&](int, int64_t begin, int64_t end) { fn(begin, end); });
}

}  // namespace tessera
