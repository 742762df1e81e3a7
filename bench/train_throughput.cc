// Training throughput of a config's model in this one process: the worker's
// arithmetic alone (forward, backward, optimizer update), no network. By
// default mnist_deep on Fashion-MNIST (Adam); with --synthetic_examples=N the
// data are N random images of the model's input shape with random labels
// (bench/resnet_throughput.sh: ResNet-18 with SGD and momentum).
//
//   bazel-bin/bench/train_throughput_tessera --batch_size=50 --threads=2 --steps=200
//
// prints one line per timed run and, last, `images_per_sec=X` (the best run),
// after the peak resident memory of the process (`peak_rss_mb=`) and the
// arithmetic of one image's training step (`train_gflop_per_image=`: the
// model's forward multiply-adds x 2 FLOPs x 3, as the usual counts take
// backward at twice forward).
// With --paced it prints `ready` after the warm-up, then waits for a line on
// stdin before each run and stops at end of input: bench/train_throughput.sh
// alternates its runs with PyTorch's so that both see the same machine.
#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "data/load_dataset.h"
#include "nn/blas_kernel.h"
#include "nn/gemm.h"
#include "nn/model.h"
#include "worker/local_trainer.h"
#include "worker/train_config.h"

ABSL_FLAG(std::string, config, "examples/mnist_deep_fashion.pbtxt", "training config");
ABSL_FLAG(int32_t, batch_size, 50, "batch size");
ABSL_FLAG(int32_t, threads, 2, "compute threads (TrainConfig.compute_threads)");
ABSL_FLAG(std::string, compute_split, "split_batch",
          "how the threads share a step: split_batch or blas_threads (docs/models.md)");
ABSL_FLAG(int32_t, steps, 200, "timed steps");
ABSL_FLAG(int32_t, warmup, 20, "untimed steps first");
ABSL_FLAG(int32_t, repeats, 3, "timed runs; the best is reported");
ABSL_FLAG(int32_t, synthetic_examples, 0,
          "if > 0, train on this many random images (uniform in [0, 1)) of the model's "
          "input shape with random labels instead of the config's data");
ABSL_FLAG(bool, paced, false,
          "before each timed run, wait for a line on stdin; stop at end of input");

namespace tessera {
namespace {

// `count` random examples for `def`'s classifier: inputs uniform in [0, 1),
// labels uniform over its classes.
absl::StatusOr<Dataset> SyntheticDataset(const ModelDef& def, int64_t count) {
  auto model = Model::FromModelDef(def);
  if (!model.ok()) return model.status();
  if (!(*model)->is_classifier()) {
    return absl::InvalidArgumentError("--synthetic_examples needs a classifier model");
  }
  Shape shape{count};
  shape.insert(shape.end(), (*model)->input_shape().begin(), (*model)->input_shape().end());
  Dataset data;
  data.inputs = Tensor(shape);
  std::mt19937_64 rng(12345);
  float* x = data.inputs.data();
  for (int64_t i = 0; i < data.inputs.size(); ++i) {
    x[i] = static_cast<float>(rng() >> 40) * (1.0f / 16777216.0f);
  }
  const uint64_t classes = static_cast<uint64_t>((*model)->output_shape()[0]);
  for (int64_t i = 0; i < count; ++i) {
    data.labels.push_back(static_cast<int32_t>(rng() % classes));
  }
  return data;
}

// Training FLOPs of one image: forward multiply-adds x 2 FLOPs x 3 (forward,
// and backward's two products of the same size).
double TrainFlopsPerImage(Model& model) {
  int64_t madds = 0;
  for (const auto& layer : model.layers()) madds += layer->MultiplyAddsPerExample();
  return 6.0 * static_cast<double>(madds);
}

int Run() {
  TrainOverrides overrides;
  overrides.batch_size = absl::GetFlag(FLAGS_batch_size);
  overrides.max_steps = 1 << 30;
  auto config = LoadTrainConfig(absl::GetFlag(FLAGS_config), overrides);
  if (!config.ok()) {
    LOG(ERROR) << config.status().message();
    return 1;
  }
  ComputeSplit split;
  if (!ComputeSplit_Parse(absl::AsciiStrToUpper(absl::GetFlag(FLAGS_compute_split)), &split)) {
    LOG(ERROR) << "--compute_split must be split_batch or blas_threads, got \""
               << absl::GetFlag(FLAGS_compute_split) << "\"";
    return 1;
  }
  if (absl::GetFlag(FLAGS_threads) < 1 || absl::GetFlag(FLAGS_threads) > 256) {
    LOG(ERROR) << "--threads must be in [1, 256], got " << absl::GetFlag(FLAGS_threads);
    return 1;
  }
  config->set_compute_split(split);
  config->set_compute_threads(absl::GetFlag(FLAGS_threads));
  const int synthetic = absl::GetFlag(FLAGS_synthetic_examples);
  auto train = synthetic > 0 ? SyntheticDataset(config->model(), synthetic)
                             : LoadDataset(config->data());
  if (!train.ok()) {
    LOG(ERROR) << train.status().message();
    return 1;
  }
  auto trainer = LocalTrainer::Create(*config, &*train);
  if (!trainer.ok()) {
    LOG(ERROR) << trainer.status().message();
    return 1;
  }
  for (int i = 0; i < absl::GetFlag(FLAGS_warmup); ++i) {
    if (!(*trainer)->Step().ok()) return 1;
  }
  const int steps = absl::GetFlag(FLAGS_steps);
  double best = 0;
  const bool paced = absl::GetFlag(FLAGS_paced);
  if (paced) {
    std::printf("ready\n");
    std::fflush(stdout);
  }
  for (int r = 0; paced || r < absl::GetFlag(FLAGS_repeats); ++r) {
    std::string go;
    if (paced && !std::getline(std::cin, go)) break;
    const absl::Time start = absl::Now();
    for (int i = 0; i < steps; ++i) {
      auto loss = (*trainer)->Step();
      if (!loss.ok()) {
        LOG(ERROR) << loss.status().message();
        return 1;
      }
    }
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    const double ips = steps * static_cast<double>(config->batch_size()) / secs;
    std::printf("run %d: %.1f images/s (%.2f ms/step)\n", r, ips, 1000 * secs / steps);
    std::fflush(stdout);
    best = std::max(best, ips);
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  // The split the steps ran with: a batch-norm model's training steps are
  // never cut, whatever the config asks (nn/model.h).
  const ComputeSplit effective_split = (*trainer)->model()->training_splittable()
                                           ? config->compute_split()
                                           : ComputeSplit::BLAS_THREADS;
  std::printf("blas_kernel=%s gemm=\"%s\" threads=%d compute_split=%s batch_size=%d\n",
              BlasKernelName().c_str(), GemmDescription().c_str(), absl::GetFlag(FLAGS_threads),
              ComputeSplit_Name(effective_split).c_str(), config->batch_size());
  std::printf("peak_rss_mb=%.0f train_gflop_per_image=%.4f\n", usage.ru_maxrss / 1024.0,
              TrainFlopsPerImage(*(*trainer)->model()) * 1e-9);
  std::printf("images_per_sec=%.1f\n", best);
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  tessera::EnsureBlasKernel(argc, argv, std::getenv);
  absl::ParseCommandLine(argc, argv);
  return tessera::Run();
}
