#include "worker/evaluation.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/dataset.h"
#include "common/status_macros.h"
#include "data/dataset_batches.h"

namespace tessera {

absl::StatusOr<EvalMetrics> EvaluateBatches(Model* model, absl::Span<const Tensor* const> params,
                                            BatchStream* batches) {
  Dataset batch;
  double loss_sum = 0;
  int64_t correct = 0;
  int64_t n = 0;
  bool classification = true;
  while (true) {
    ASSIGN_OR_RETURN(bool more, batches->Next(&batch));
    if (!more) break;
    ASSIGN_OR_RETURN(Model::EvalResult r, model->Evaluate(params, batch));
    loss_sum += r.loss_sum;
    correct += r.correct;
    n += batch.size();
    classification = batch.is_classification();
  }
  EvalMetrics m;
  m.count = n;
  if (n > 0) {
    m.mean_loss = loss_sum / static_cast<double>(n);
    m.accuracy = classification ? static_cast<double>(correct) / n : 0.0;
  }
  return m;
}

absl::StatusOr<EvalMetrics> EvaluateDataset(Model* model, absl::Span<const Tensor* const> params,
                                            const Dataset& dataset, int64_t batch_size) {
  if (batch_size <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("eval batch size must be > 0, got ", batch_size));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<OnePass> pass, OnePass::Create(&dataset, batch_size));
  return EvaluateBatches(model, params, pass.get());
}

std::vector<std::string> FormatSmallVariables(const std::vector<std::string>& names,
                                              const std::vector<Tensor>& values,
                                              int64_t max_elements) {
  std::vector<std::string> lines;
  for (const Tensor& t : values) {
    if (t.size() > max_elements) return lines;
  }
  for (size_t i = 0; i < values.size() && i < names.size(); ++i) {
    const Tensor& t = values[i];
    std::vector<std::string> parts;
    for (int64_t j = 0; j < t.size(); ++j) parts.push_back(absl::StrFormat("%.8g", t[j]));
    lines.push_back(
        absl::StrCat(names[i], " ", ShapeString(t.shape()), " = [", absl::StrJoin(parts, ", "), "]"));
  }
  return lines;
}

}  // namespace tessera
