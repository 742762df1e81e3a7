#ifndef TESSERA_COMMON_DAEMON_SETUP_H_
#define TESSERA_COMMON_DAEMON_SETUP_H_

// What a daemon's main() sets at its start, before it starts a thread or uses
// gRPC:
//  - glibc malloc (common/malloc_tuning.h);
//  - gRPC's transport experiments (common/chunk_coding.h,
//    ChooseGrpcExperiments);
//  - Abseil's mutex deadlock detection, off. Debian builds Abseil without
//    NDEBUG, so by default every absl::Mutex acquisition also records the
//    lock order in a global graph to report possible deadlocks: about 3% of
//    bench/ps_transport at 4 MiB with 2 workers, where each 1 MiB chunk takes
//    several locks in gRPC and in the ps. Tests keep the detection (they do
//    not call this), so a lock-order inversion still fails them.
//
//   int main(int argc, char** argv) {
//     const tessera::DaemonSetup setup = tessera::SetUpDaemon(std::getenv);
//     absl::ParseCommandLine(argc, argv);
//     ... for (const std::string& line : setup.LogLines()) LOG(INFO) << line;

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "common/malloc_tuning.h"

namespace tessera {

struct DaemonSetup {
  MallocTuning malloc;
  std::string grpc_experiments;  // ChooseGrpcExperiments's line
  // What the daemon logs at start, one setting per line.
  std::vector<std::string> LogLines() const;
};

// `getenv` is std::getenv (tests pass their own environment to the malloc
// part). Not thread-safe: call once at the start of main(), before any thread
// starts.
DaemonSetup SetUpDaemon(absl::FunctionRef<const char*(const char*)> getenv);

}  // namespace tessera

#endif  // TESSERA_COMMON_DAEMON_SETUP_H_
