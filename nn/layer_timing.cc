// Times forward and backward of each layer of a model (default: mnist_deep) at
// batch 50 on random data, and a whole ComputeGradients step. A relu the model
// fuses into its input layer or its reader (ModelBuildOptions::fuse_relu)
// shows as "fused": that layer's times include it. For each layer
// also the cores it held: the process's CPU time over the wall time (2.0 on
// two cores is both held throughout; a layer near 1.0 ran on one thread).
// Threads that spin while they wait count as held: the layer threads' short
// spins (common/parallel_runner.h) and OpenBLAS's idle threads.
//
//   bazel-bin/nn/layer_timing [MODEL.pbtxt] [BATCH] [REPEATS]
//
// Run from the workspace root (the default model path is relative to it).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/cpu_time.h"
#include "common/logging.h"
#include "nn/blas_kernel.h"
#include "nn/gemm.h"
#include "nn/gradient_check.h"
#include "nn/model.h"
#include "nn/model_def.h"
#include "nn/model_graph.h"

namespace tessera {
namespace {

double NowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double CpuMs() { return absl::ToDoubleMilliseconds(ProcessCpuTime()); }

// Cores busy: CPU time over wall time.
double Busy(double cpu_ms, double wall_ms) { return wall_ms > 0 ? cpu_ms / wall_ms : 0.0; }

int Run(const std::string& path, int64_t batch_size, int repeats) {
  auto def = ReadModelDefFile(path);
  if (!def.ok()) {
    LOG(ERROR) << def.status();
    return 1;
  }
  auto model_or = Model::FromModelDef(*def);
  if (!model_or.ok()) {
    LOG(ERROR) << model_or.status();
    return 1;
  }
  Model& model = **model_or;
  const std::vector<Tensor> params = model.InitialValues(1);
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : params) ptrs.push_back(&t);

  Shape input_shape{batch_size};
  input_shape.insert(input_shape.end(), model.input_shape().begin(), model.input_shape().end());
  const Tensor input = RandomTensor(input_shape, 2, 0.0f, 1.0f);

  const auto& layers = model.layers();
  const auto& sources = model.layer_inputs();
  const std::vector<bool>& fused = model.fused_relus();
  const size_t n = layers.size();
  // The layer whose output tensor holds layer s's output: a fused relu's is
  // its input layer's, which applies it or whose output its reader takes
  // through it (Model's storage).
  auto held = [&](int s) { return s != kModelInput && fused[s] ? sources[s][0] : s; };
  std::vector<Tensor> acts(n);
  // grad_ins[i][j]: dLoss/d(input j of layer i). A layer's output gradient is
  // that of the last layer reading it (the gradient of one path through the
  // graph: enough for timing).
  std::vector<std::vector<Tensor>> grad_ins(n);
  std::vector<std::pair<size_t, size_t>> last_reader(n);
  for (size_t i = 0; i < n; ++i) {
    grad_ins[i].resize(sources[i].size());
    if (fused[i]) continue;
    for (size_t j = 0; j < sources[i].size(); ++j) {
      if (sources[i][j] != kModelInput) last_reader[held(sources[i][j])] = {i, j};
    }
  }
  Tensor grad_last;
  std::vector<Tensor> grads;
  for (const auto& v : model.variables()) grads.emplace_back(v.shape);
  std::vector<Tensor*> grad_ptrs;
  for (Tensor& g : grads) grad_ptrs.push_back(&g);
  std::vector<double> fwd_ms(n, 0.0), bwd_ms(n, 0.0), fwd_cpu(n, 0.0), bwd_cpu(n, 0.0);
  std::vector<size_t> first(n);
  size_t next = 0;
  for (size_t i = 0; i < n; ++i) {
    first[i] = next;
    next += layers[i]->Variables().size();
  }
  auto layer_params = [&](size_t i) {
    return absl::MakeConstSpan(ptrs).subspan(first[i], layers[i]->Variables().size());
  };
  auto layer_grads = [&](size_t i) {
    return absl::MakeSpan(grad_ptrs).subspan(first[i], layers[i]->Variables().size());
  };
  auto layer_inputs = [&](size_t i) {
    std::vector<const Tensor*> inputs;
    for (int s : sources[i]) inputs.push_back(s == kModelInput ? &input : &acts[held(s)]);
    return inputs;
  };
  for (int r = -1; r < repeats; ++r) {  // r = -1 warms up
    for (size_t i = 0; i < n; ++i) {
      if (fused[i]) continue;
      const std::vector<const Tensor*> inputs = layer_inputs(i);
      const double t0 = NowMs(), c0 = CpuMs();
      layers[i]->ForwardInputs(layer_params(i), inputs,
                               ForwardOptions{true, static_cast<uint64_t>(r + 2)}, &acts[i]);
      if (r >= 0) {
        fwd_ms[i] += NowMs() - t0;
        fwd_cpu[i] += CpuMs() - c0;
      }
    }
    const size_t last = held(static_cast<int>(n - 1));
    grad_last = RandomTensor(acts[last].shape(), 3);
    for (size_t i = n; i-- > 0;) {
      if (fused[i]) continue;
      const std::vector<const Tensor*> inputs = layer_inputs(i);
      std::vector<Tensor*> grad_inputs;
      for (size_t j = 0; j < sources[i].size(); ++j) {
        grad_inputs.push_back(sources[i][j] == kModelInput ? nullptr : &grad_ins[i][j]);
      }
      const Tensor& grad_output =
          i == last ? grad_last : grad_ins[last_reader[i].first][last_reader[i].second];
      const double t0 = NowMs(), c0 = CpuMs();
      layers[i]->BackwardInputs(layer_params(i), inputs, acts[i], grad_output,
                                absl::MakeSpan(grad_inputs), layer_grads(i));
      if (r >= 0) {
        bwd_ms[i] += NowMs() - t0;
        bwd_cpu[i] += CpuMs() - c0;
      }
    }
  }
  std::printf("model %s, batch %lld, %d repeats, OpenBLAS core %s, %d threads, products %s\n",
              model.name().c_str(), static_cast<long long>(batch_size), repeats,
              BlasKernelName().c_str(), BlasThreads(), GemmDescription().c_str());
  // Columns as wide as the longest layer name and output shape (ResNet's
  // "conv2_block1_1_conv", "[112, 112, 64]").
  int name_width = 10, shape_width = 16;
  for (const auto& layer : layers) {
    name_width = std::max(name_width, static_cast<int>(layer->name().size()));
    shape_width =
        std::max(shape_width, static_cast<int>(ShapeString(layer->output_shape()).size()));
  }
  std::printf("%-*s %-*s %10s %10s %9s %9s\n", name_width, "layer", shape_width, "output", "fwd ms",
              "bwd ms", "fwd busy", "bwd busy");
  double total_f = 0, total_b = 0, cpu_f = 0, cpu_b = 0;
  for (size_t i = 0; i < n; ++i) {
    if (fused[i]) {
      std::printf("%-*s %-*s %10s %10s  (done by %s)\n", name_width, layers[i]->name().c_str(),
                  shape_width, ShapeString(layers[i]->output_shape()).c_str(), "fused", "fused",
                  layers[static_cast<size_t>(model.relus_done_by()[i])]->name().c_str());
      continue;
    }
    std::printf("%-*s %-*s %10.3f %10.3f %9.2f %9.2f\n", name_width, layers[i]->name().c_str(),
                shape_width, ShapeString(layers[i]->output_shape()).c_str(), fwd_ms[i] / repeats,
                bwd_ms[i] / repeats, Busy(fwd_cpu[i], fwd_ms[i]), Busy(bwd_cpu[i], bwd_ms[i]));
    total_f += fwd_ms[i] / repeats;
    total_b += bwd_ms[i] / repeats;
    cpu_f += fwd_cpu[i] / repeats;
    cpu_b += bwd_cpu[i] / repeats;
  }
  std::printf("%-*s %-*s %10.3f %10.3f %9.2f %9.2f\n", name_width, "total", shape_width, "",
              total_f, total_b, Busy(cpu_f, total_f), Busy(cpu_b, total_b));

  // Whole training steps through Model (validation + loss included).
  Dataset batch;
  batch.inputs = input;
  if (model.is_classifier()) {
    for (int64_t i = 0; i < batch_size; ++i) {
      batch.labels.push_back(static_cast<int32_t>(i % model.output_shape()[0]));
    }
  } else {
    Shape target_shape{batch_size};
    target_shape.insert(target_shape.end(), model.output_shape().begin(),
                        model.output_shape().end());
    batch.targets = Tensor(target_shape);
  }
  std::vector<Tensor> step_grads;
  if (!model.ComputeGradients(ptrs, batch, 0, &step_grads).ok()) return 1;
  const double t0 = NowMs(), c0 = CpuMs();
  for (int r = 0; r < repeats; ++r) {
    auto loss = model.ComputeGradients(ptrs, batch, r, &step_grads);
    if (!loss.ok()) {
      LOG(ERROR) << loss.status();
      return 1;
    }
  }
  const double step_ms = (NowMs() - t0) / repeats;
  const double step_cpu = (CpuMs() - c0) / repeats;
  std::printf("ComputeGradients: %.3f ms/step, %.0f images/s, %.2f cores busy\n", step_ms,
              1000.0 * static_cast<double>(batch_size) / step_ms, Busy(step_cpu, step_ms));
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  tessera::EnsureBlasKernel(argc, argv, std::getenv);
  const std::string path = argc > 1 ? argv[1] : "examples/models/mnist_deep.pbtxt";
  const int64_t batch = argc > 2 ? std::atoll(argv[2]) : 50;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 20;
  if (batch <= 0 || repeats <= 0) {
    std::fprintf(stderr, "usage: layer_timing [MODEL.pbtxt] [BATCH > 0] [REPEATS > 0]\n");
    return 2;
  }
  return tessera::Run(path, batch, repeats);
}
