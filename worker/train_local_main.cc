// tessera_train_local: trains a TrainConfig in this one process (no cluster),
// logging progress, then evaluates on the test set. The reference for what
// the cluster computes.
#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "data/load_dataset.h"
#include "nn/blas_kernel.h"
#include "worker/evaluation.h"
#include "worker/local_trainer.h"
#include "worker/train_config.h"

ABSL_FLAG(std::string, config, "", "training config (text TrainConfig), required");
ABSL_FLAG(int64_t, max_steps, 0, "override max_steps when > 0");
ABSL_FLAG(int32_t, batch_size, 0, "override batch_size when > 0");

namespace tessera {
namespace {

// Logs test loss and accuracy of the trainer's current values.
// In training-sized batches, so that the model's buffers keep one size.
absl::Status LogEvaluation(LocalTrainer* trainer, const Dataset& test, int64_t batch_size) {
  auto metrics = EvaluateDataset(trainer->model(), trainer->params(), test, batch_size);
  if (!metrics.ok()) return metrics.status();
  LOG(INFO) << "test at step " << trainer->step() << ": " << metrics->count << " examples, loss "
            << metrics->mean_loss
            << (trainer->model()->is_classifier() ? absl::StrCat(", accuracy ", metrics->accuracy)
                                                  : std::string());
  return absl::OkStatus();
}

int Run() {
  TrainOverrides overrides;
  if (absl::GetFlag(FLAGS_max_steps) > 0) overrides.max_steps = absl::GetFlag(FLAGS_max_steps);
  if (absl::GetFlag(FLAGS_batch_size) > 0) overrides.batch_size = absl::GetFlag(FLAGS_batch_size);
  auto config = LoadTrainConfig(absl::GetFlag(FLAGS_config), overrides);
  if (!config.ok()) {
    LOG(ERROR) << config.status().message();
    return 1;
  }
  auto train = LoadDataset(config->data(), DataSplit::kTrain);
  if (!train.ok()) {
    LOG(ERROR) << train.status().message();
    return 1;
  }
  auto trainer = LocalTrainer::Create(*config, &*train);
  if (!trainer.ok()) {
    LOG(ERROR) << trainer.status().message();
    return 1;
  }
  absl::StatusOr<Dataset> test = absl::NotFoundError("not loaded");
  if (config->eval_at_end() || config->eval_every_steps() > 0) {
    test = LoadDataset(config->data(), DataSplit::kTest);
    if (!test.ok()) {
      LOG(ERROR) << test.status().message();
      return 1;
    }
  }
  LOG(INFO) << "training " << config->model().name() << " on " << train->size()
            << " examples, batch " << config->batch_size() << ", " << config->max_steps()
            << " steps, BLAS kernel " << BlasKernelName();
  const absl::Time start = absl::Now();
  absl::Time last = start;
  float loss = 0;
  while ((*trainer)->step() < config->max_steps()) {
    auto l = (*trainer)->Step();
    if (!l.ok()) {
      LOG(ERROR) << "step " << (*trainer)->step() << ": " << l.status().message();
      return 1;
    }
    loss = *l;
    const int64_t step = (*trainer)->step();
    if (config->log_every_steps() > 0 && step % config->log_every_steps() == 0) {
      const absl::Time now = absl::Now();
      LOG(INFO) << "step " << step << " loss " << loss << " images/s "
                << config->log_every_steps() * config->batch_size() /
                       absl::ToDoubleSeconds(now - last);
      last = now;
    }
    if (config->eval_every_steps() > 0 && step % config->eval_every_steps() == 0 &&
        step < config->max_steps()) {
      absl::Status s = LogEvaluation(trainer->get(), *test, config->batch_size());
      if (!s.ok()) {
        LOG(ERROR) << s.message();
        return 1;
      }
    }
  }
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  LOG(INFO) << "trained " << (*trainer)->step() << " steps in " << secs << " s ("
            << (*trainer)->step() * config->batch_size() / secs << " images/s), final loss "
            << loss;
  if (config->eval_at_end()) {
    absl::Status s = LogEvaluation(trainer->get(), *test, config->batch_size());
    if (!s.ok()) {
      LOG(ERROR) << s.message();
      return 1;
    }
  }
  std::vector<std::string> names;
  for (const VariableSpec& v : (*trainer)->model()->variables()) names.push_back(v.name);
  for (const std::string& line : FormatSmallVariables(names, (*trainer)->values())) {
    LOG(INFO) << line;
  }
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  tessera::EnsureBlasKernel(argc, argv, std::getenv);
  absl::ParseCommandLine(argc, argv);
  tessera::SetLogPrefix("local");
  return tessera::Run();
}
