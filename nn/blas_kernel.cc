#include "nn/blas_kernel.h"

#include <cblas.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
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
                                    const char* reexec_guard, bool has_avx512f,
                                    bool has_avx2) {
  BlasKernelDecision d;
  if (user_coretype != nullptr) {
    d.reason = absl::StrCat("OPENBLAS_CORETYPE=", user_coretype, " set by the user");
    return d;
  }
  if (reexec_guard != nullptr) {
    d.reason = "already re-executed once (TESSERA_BLAS_REEXEC is set)";
    return d;
  }
  if (!IsGenericBlasCore(corename)) {
    d.reason = absl::StrCat("OpenBLAS chose core ", corename);
    return d;
  }
  if (has_avx512f) {
    d.coretype = "SkylakeX";
  } else if (has_avx2) {
    d.coretype = "Haswell";
  } else {
    d.reason = absl::StrCat("generic core ", corename, " and no AVX2 on this CPU");
    return d;
  }
  d.reexec = true;
  d.reason = absl::StrCat("OpenBLAS chose generic core ", corename, "; the CPU supports ",
                          d.coretype, " kernels");
  return d;
}

void EnsureBlasKernel(int argc, char** argv, absl::FunctionRef<const char*(const char*)> lookup) {
  __builtin_cpu_init();
  const BlasKernelDecision d = DecideBlasKernel(
      BlasKernelName(), lookup("OPENBLAS_CORETYPE"), lookup("TESSERA_BLAS_REEXEC"),
      __builtin_cpu_supports("avx512f"), __builtin_cpu_supports("avx2"));
  if (d.reexec && argc > 0) {
    LOG(INFO) << d.reason << ": re-executing with OPENBLAS_CORETYPE=" << d.coretype;
    // The environment of the new image: ours (neither variable is set, or
    // DecideBlasKernel would not re-execute) plus the two.
    std::vector<std::string> added = {absl::StrCat("OPENBLAS_CORETYPE=", d.coretype),
                                      "TESSERA_BLAS_REEXEC=1"};
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
            << " threads (" << d.reason << ")";
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
