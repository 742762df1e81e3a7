#include "nn/blas_kernel.h"

#include <cblas.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"

namespace tessera {

bool IsGenericBlasCore(absl::string_view corename) {
  const std::string name = absl::AsciiStrToLower(corename);
  static constexpr const char* kGeneric[] = {
      "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "generic",
      "katmai", "coppermine", "northwood", "banias", "unknown", ""};
  for (const char* g : kGeneric) {
    if (name == g) return true;
  }
  return false;
}

BlasKernelDecision DecideBlasKernel(absl::string_view corename, const char* user_coretype,
                                    const char* user_thread_timeout, const char* reexec_guard,
                                    bool has_avx512f, bool has_avx2) {
  BlasKernelDecision d;
  if (reexec_guard != nullptr) {
    d.reason = "already re-executed once (TESSERA_BLAS_REEXEC is set)";
    return d;
  }
  std::vector<std::string> reasons;
  if (user_coretype != nullptr) {
    reasons.push_back(absl::StrCat("OPENBLAS_CORETYPE=", user_coretype, " set by the user"));
  } else if (!IsGenericBlasCore(corename)) {
    reasons.push_back(absl::StrCat("OpenBLAS chose core ", corename));
  } else if (has_avx512f || has_avx2) {
    d.coretype = has_avx512f ? "SkylakeX" : "Haswell";
    reasons.push_back(absl::StrCat("OpenBLAS chose generic core ", corename, "; the CPU supports ",
                                   d.coretype, " kernels"));
  } else {
    reasons.push_back(absl::StrCat("generic core ", corename, " and no AVX2 on this CPU"));
  }
  if (user_thread_timeout != nullptr) {
    // OpenBLAS reads it with atoi: 0 (or no number) keeps its default of
    // 2^28 cycles, other values are clamped to [4, 30].
    int value = 0;
    std::string note;
    if (!absl::SimpleAtoi(user_thread_timeout, &value) || value <= 0) {
      note = " (not a positive number: OpenBLAS ignores it and spins 2^28 cycles)";
    } else if (value < 4 || value > 30) {
      note = absl::StrCat(" (OpenBLAS takes ", value < 4 ? 4 : 30, ")");
    }
    reasons.push_back(
        absl::StrCat("OPENBLAS_THREAD_TIMEOUT=", user_thread_timeout, " set by the user", note));
  } else {
    d.thread_timeout = absl::StrCat(kBlasThreadTimeout);
    reasons.push_back("OPENBLAS_THREAD_TIMEOUT unset: idle OpenBLAS threads would spin ~0.1 s");
  }
  d.reason = absl::StrJoin(reasons, "; ");
  return d;
}

namespace {

std::atomic<GemmLibrary> gemm_library{GemmLibrary::kOneDnn};

}  // namespace

absl::StatusOr<GemmLibrary> ParseGemmLibrary(const char* value) {
  if (value == nullptr || std::strcmp(value, "onednn") == 0) return GemmLibrary::kOneDnn;
  if (std::strcmp(value, "openblas") == 0) return GemmLibrary::kOpenBlas;
  return absl::InvalidArgumentError(
      absl::StrCat("TESSERA_GEMM=\"", value,
                   "\" in the environment: want \"onednn\" (the default) or "
                   "\"openblas\""));
}

void SetGemmLibrary(GemmLibrary library) { gemm_library.store(library); }

GemmLibrary CurrentGemmLibrary() { return gemm_library.load(std::memory_order_relaxed); }

void EnsureBlasKernel(int argc, char** argv, absl::FunctionRef<const char*(const char*)> lookup) {
  const absl::StatusOr<GemmLibrary> library = ParseGemmLibrary(lookup("TESSERA_GEMM"));
  if (!library.ok()) {
    std::fprintf(stderr, "%s\n", std::string(library.status().message()).c_str());
    std::exit(2);
  }
  SetGemmLibrary(*library);
  __builtin_cpu_init();
  const char* timeout = lookup("OPENBLAS_THREAD_TIMEOUT");
  const BlasKernelDecision d = DecideBlasKernel(
      BlasKernelName(), lookup("OPENBLAS_CORETYPE"), timeout, lookup("TESSERA_BLAS_REEXEC"),
      __builtin_cpu_supports("avx512f"), __builtin_cpu_supports("avx2"));
  if (d.reexec() && argc > 0) {
    // The environment of the new image: ours (none of the variables set
    // here is set, or DecideBlasKernel would not have chosen it) plus them.
    std::vector<std::string> added = {"TESSERA_BLAS_REEXEC=1"};
    if (!d.coretype.empty()) added.push_back(absl::StrCat("OPENBLAS_CORETYPE=", d.coretype));
    if (!d.thread_timeout.empty()) {
      added.push_back(absl::StrCat("OPENBLAS_THREAD_TIMEOUT=", d.thread_timeout));
    }
    LOG(INFO) << d.reason << ": re-executing with " << absl::StrJoin(added, " ");
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
    for (std::string& a : added) envp.push_back(a.data());
    envp.push_back(nullptr);
    execve("/proc/self/exe", argv, envp.data());
    LOG(WARNING) << "re-exec of /proc/self/exe failed (" << std::strerror(errno)
                 << "); going on with the " << BlasKernelName() << " kernel";
    return;
  }
  LOG(INFO) << "OpenBLAS kernel " << BlasKernelName() << ", " << BlasThreads()
            << " threads, OPENBLAS_THREAD_TIMEOUT=" << (timeout != nullptr ? timeout : "unset")
            << " (" << d.reason << ")";
}

std::string BlasKernelName() {
  const char* name = openblas_get_corename();
  return name == nullptr ? std::string() : std::string(name);
}

int BlasThreads() { return openblas_get_num_threads(); }

void SetBlasThreads(int n) {
  if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
}

}  // namespace tessera
