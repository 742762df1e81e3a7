// Is the machine quiet enough to quote a benchmark figure? Runs single-
// precision matrix products (OpenBLAS sgemm, 512 x 512 x 512) on each core
// alone, then on all cores at once, and prints GFLOPS for each and the
// scaling (all cores together / sum of each alone). First, on one line, the
// same for the library the layers' single-threaded products use (nn/gemm.h:
// oneDNN unless TESSERA_GEMM=openblas), which may use wider instructions than
// the OpenBLAS kernel the environment allows; the last line stays OpenBLAS's.
// On these 2-core VMs a quiet stretch shows each core near 100 GFLOPS and a
// scaling near 1.0; when the host squeezes the VM both fall
// (docs/benchmarks.md, "Is the machine quiet?").
//
//   bazel run //bench:machine_check [-- --seconds=2]
#include <cblas.h>
#include <pthread.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <numeric>
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

// GFLOPS per core of `library`'s sgemm: each core alone, one after the
// other, then all cores at once.
struct CoreFigures {
  std::vector<double> alone, together;
  double AloneSum() const { return std::accumulate(alone.begin(), alone.end(), 0.0); }
  double TogetherSum() const { return std::accumulate(together.begin(), together.end(), 0.0); }
};

CoreFigures MeasureCores(int cores, double seconds, Library library) {
  CoreFigures f;
  f.alone.resize(cores);
  f.together.resize(cores);
  for (int cpu = 0; cpu < cores; ++cpu) {
    std::thread t([&] { f.alone[cpu] = SgemmGflops(cpu, seconds, library); });
    t.join();
  }
  std::vector<std::thread> threads;
  for (int cpu = 0; cpu < cores; ++cpu) {
    threads.emplace_back([&, cpu] { f.together[cpu] = SgemmGflops(cpu, seconds, library); });
  }
  for (std::thread& t : threads) t.join();
  return f;
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
  const CoreFigures layers = MeasureCores(cores, seconds, Library::kLayers);
  std::printf("layers_gemm=\"%s\" layers_all_cores_gflops=%.1f layers_sum_alone_gflops=%.1f\n",
              GemmDescription().c_str(), layers.TogetherSum(), layers.AloneSum());
  const CoreFigures blas = MeasureCores(cores, seconds, Library::kOpenBlas);
  for (int cpu = 0; cpu < cores; ++cpu) {
    std::printf("core %d alone: %.1f GFLOPS\n", cpu, blas.alone[cpu]);
  }
  for (int cpu = 0; cpu < cores; ++cpu) {
    std::printf("core %d with the others: %.1f GFLOPS\n", cpu, blas.together[cpu]);
  }
  const double alone_sum = blas.AloneSum(), together_sum = blas.TogetherSum();
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
