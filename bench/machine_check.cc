// Is the machine quiet enough to quote a benchmark figure? Runs single-
// precision matrix products (OpenBLAS sgemm, 512 x 512 x 512) on each core
// alone, then on all cores at once, and prints GFLOPS for each and the
// scaling (all cores together / sum of each alone). First, on one line, the
// same for the library the layers' single-threaded products use (nn/gemm.h:
// oneDNN unless TESSERA_GEMM=openblas), which may use wider instructions than
// the OpenBLAS kernel the environment allows; the last line stays OpenBLAS's. On these 2-core VMs a
// quiet stretch shows each core near 100 GFLOPS and a scaling near 1.0; when the host squeezes the
// VM both fall (docs/benchmarks.md, "The machine's speed drifts").
//
//   bazel run //bench:machine_check [-- --seconds=2]
#include <cblas.h>
#include <pthread.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "nn/blas_kernel.h"
#include "nn/gemm.h"

ABSL_FLAG(double, seconds, 2.0, "measuring time per figure");

namespace tessera {
namespace {

constexpr int kN = 512;

enum class Library { kOpenBlas, kLayers };

// GFLOPS of back-to-back sgemm calls on this thread for `seconds`, pinned to
// `cpu` (or not pinned when cpu < 0): OpenBLAS's, or the layers' Sgemm.
double SgemmGflops(int cpu, double seconds, Library library) {
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  std::vector<float> a(kN * kN, 0.001f), b(kN * kN, 0.002f), c(kN * kN);
  int64_t calls = 0;
  const absl::Time start = absl::Now();
  const absl::Duration budget = absl::Seconds(seconds);
  absl::Duration elapsed;
  do {
    if (library == Library::kOpenBlas) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kN, kN, kN, 1.0f, a.data(), kN,
                  b.data(), kN, 0.0f, c.data(), kN);
    } else {
      Sgemm(CblasNoTrans, CblasNoTrans, kN, kN, kN, 1.0f, a.data(), kN, b.data(), kN, 0.0f,
            c.data(), kN);
    }
    ++calls;
    elapsed = absl::Now() - start;
  } while (elapsed < budget);
  return 2.0 * kN * kN * kN * calls / absl::ToDoubleSeconds(elapsed) / 1e9;
}

int Run() {
  const double seconds = absl::GetFlag(FLAGS_seconds);
  if (!(seconds > 0) || seconds > 600) {
    std::fprintf(stderr, "--seconds must be in (0, 600], got %g\n", seconds);
    return 2;
  }
  openblas_set_num_threads(1);  // one sgemm per thread, the threads are ours
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  std::printf("blas_kernel=%s cores=%d sgemm=%dx%dx%d\n", BlasKernelName().c_str(), cores, kN,
              kN, kN);
  {
    double layers_alone = 0;
    for (int cpu = 0; cpu < cores; ++cpu) {
      std::thread t([&] { layers_alone += SgemmGflops(cpu, seconds, Library::kLayers); });
      t.join();
    }
    std::vector<double> together(cores);
    std::vector<std::thread> threads;
    for (int cpu = 0; cpu < cores; ++cpu) {
      threads.emplace_back(
          [&, cpu] { together[cpu] = SgemmGflops(cpu, seconds, Library::kLayers); });
    }
    double together_sum = 0;
    for (int cpu = 0; cpu < cores; ++cpu) {
      threads[cpu].join();
      together_sum += together[cpu];
    }
    std::printf("layers_gemm=\"%s\" layers_all_cores_gflops=%.1f layers_sum_alone_gflops=%.1f\n",
                GemmDescription().c_str(), together_sum, layers_alone);
  }
  double alone_sum = 0;
  for (int cpu = 0; cpu < cores; ++cpu) {
    double gflops = 0;
    std::thread t([&] { gflops = SgemmGflops(cpu, seconds, Library::kOpenBlas); });
    t.join();
    std::printf("core %d alone: %.1f GFLOPS\n", cpu, gflops);
    alone_sum += gflops;
  }
  std::vector<double> together(cores);
  std::vector<std::thread> threads;
  for (int cpu = 0; cpu < cores; ++cpu) {
    threads.emplace_back(
        [&, cpu] { together[cpu] = SgemmGflops(cpu, seconds, Library::kOpenBlas); });
  }
  double together_sum = 0;
  for (int cpu = 0; cpu < cores; ++cpu) {
    threads[cpu].join();
    std::printf("core %d with the others: %.1f GFLOPS\n", cpu, together[cpu]);
    together_sum += together[cpu];
  }
  std::printf("all_cores_gflops=%.1f sum_alone_gflops=%.1f scaling=%.2f\n", together_sum,
              alone_sum, alone_sum > 0 ? together_sum / alone_sum : 0.0);
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  tessera::EnsureBlasKernel(argc, argv, std::getenv);
  absl::ParseCommandLine(argc, argv);
  return tessera::Run();
}
