// Training throughput of mnist_deep on Fashion-MNIST in this one process: the
// worker's arithmetic alone (forward, backward, Adam update), no network.
//
//   bazel-bin/bench/train_throughput_tessera --batch_size=50 --threads=2 --steps=200
//
// prints one line per timed run and, last, `images_per_sec=X` (the best run).
// With --paced it prints `ready` after the warm-up, then waits for a line on
// stdin before each run and stops at end of input: bench/train_throughput.sh
// alternates its runs with PyTorch's so that both see the same machine.
#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "data/load_dataset.h"
#include "nn/blas_kernel.h"
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
ABSL_FLAG(bool, paced, false,
          "before each timed run, wait for a line on stdin; stop at end of input");

namespace tessera {
namespace {

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
  auto train = LoadDataset(config->data());
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
  std::printf("blas_kernel=%s threads=%d compute_split=%s batch_size=%d\n",
              BlasKernelName().c_str(), absl::GetFlag(FLAGS_threads),
              ComputeSplit_Name(config->compute_split()).c_str(), config->batch_size());
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
