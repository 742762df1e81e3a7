#include "common/optim/moving_average.h"

#include "absl/strings/str_cat.h"

namespace tessera {

absl::Status ApplyMovingAverageDelta(absl::Span<float> var, absl::Span<const float> delta) {
  if (var.size() != delta.size()) {
    return absl::InvalidArgumentError(absl::StrCat("moving average update: variable has ",
                                                   var.size(), " elements, its delta ",
                                                   delta.size()));
  }
  float* v = var.data();
  const float* d = delta.data();
  for (size_t i = 0; i < var.size(); ++i) v[i] -= d[i];
  return absl::OkStatus();
}

}  // namespace tessera
