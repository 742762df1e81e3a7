#include "worker/evaluation.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/dataset.h"
#include "common/status_macros.h"

namespace tessera {

absl::StatusOr<EvalMetrics> EvaluateDataset(Model* model, absl::Span<const Tensor* const> params,
                                            const Dataset& dataset, int64_t batch_size) {
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("eval batch size must be > 0, got ", batch_size));
  }
  const int64_t n = dataset.size();
  const int64_t in_size = dataset.input_size();
  const int64_t target_size = dataset.target_size();
  Dataset batch;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t b = std::min(batch_size, n - start);
    Shape in_shape = dataset.inputs.shape();
    in_shape[0] = b;
    if (batch.inputs.shape() != in_shape) batch.inputs = Tensor(in_shape);
    std::memcpy(batch.inputs.data(), dataset.inputs.data() + start * in_size,
                static_cast<size_t>(b * in_size) * sizeof(float));
    if (dataset.is_classification()) {
      batch.labels.assign(dataset.labels.begin() + start, dataset.labels.begin() + start + b);
    } else {
      Shape t_shape = dataset.targets.shape();
      t_shape[0] = b;
      if (batch.targets.shape() != t_shape) batch.targets = Tensor(t_shape);
      std::memcpy(batch.targets.data(), dataset.targets.data() + start * target_size,
                  static_cast<size_t>(b * target_size) * sizeof(float));
    }
    ASSIGN_OR_RETURN(Model::EvalResult r, model->Evaluate(params, batch));
    loss_sum += r.loss_sum;
    correct += r.correct;
  }
  EvalMetrics m;
  m.count = n;
  if (n > 0) {
    m.mean_loss = loss_sum / static_cast<double>(n);
    m.accuracy = dataset.is_classification() ? static_cast<double>(correct) / n : 0.0;
  }
  return m;
}

std::vector<std::string> FormatSmallVariables(const std::vector<std::string>& names,
                                              const std::vector<Tensor>& values,
                                              int64_t max_elements) {
  std::vector<std::string> lines;
  for (size_t i = 0; i < values.size() && i < names.size(); ++i) {
    const Tensor& t = values[i];
    if (t.size() > max_elements) continue;
    std::vector<std::string> parts;
    for (int64_t j = 0; j < t.size(); ++j) parts.push_back(absl::StrFormat("%.8g", t[j]));
    lines.push_back(
        absl::StrCat(names[i], " ", ShapeString(t.shape()), " = [", absl::StrJoin(parts, ", "), "]"));
  }
  return lines;
}

}  // namespace tessera
