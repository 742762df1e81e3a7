#ifndef TESSERA_COMMON_DAEMON_SETUP_H_
#define TESSERA_COMMON_DAEMON_SETUP_H_

// What a daemon's main() sets at its start, before it starts a thread or uses
// gRPC:
//  - glibc malloc (common/malloc_tuning.h);
//  - gRPC's transport experiments (ChooseGrpcExperiments below), returned as
//    environment for main to set;
//  - Abseil's mutex deadlock detection, off. Debian builds Abseil without
//    NDEBUG, so by default every absl::Mutex acquisition also records the
//    lock order in a global graph to report possible deadlocks: about 3% of
//    bench/ps_transport at 4 MiB with 2 workers, where each 1 MiB chunk takes
//    several locks in gRPC and in the ps. Tests keep the detection (they do
//    not call this), so a lock-order inversion still fails them.
//
//   int main(int argc, char** argv) {
//     // `lookup`: the C library's environment lookup, which only main names
//     const tessera::DaemonSetup setup = tessera::SetUpDaemon(lookup);
//     for (const auto& [name, value] : setup.environment)
//       setenv(name.c_str(), value.c_str(), /*overwrite=*/0);
//     absl::ParseCommandLine(argc, argv);
//     ... for (const std::string& line : setup.LogLines()) LOG(INFO) << line;

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "common/malloc_tuning.h"

namespace tessera {

// gRPC 1.51 experiments of the fast path: tcp_rcv_lowat (SO_RCVLOWAT: a reader
// wakes once a message's bytes are there, not for every segment) and
// tcp_frame_size_tuning (reads and buffers sized by the expected message).
// bench/ps_transport, 4 MiB push + pull: 1 worker 2.2-2.8 -> 2.8-2.9 GB/s,
// 2 workers 2.5-2.9 -> 3.1 GB/s, in alternating runs.
inline constexpr char kGrpcExperiments[] = "tcp_frame_size_tuning,tcp_rcv_lowat";

// What to do about GRPC_EXPERIMENTS, whose current value is `current` (null:
// unset). The user's choice wins, even an empty value (experiments off).
struct GrpcExperimentsChoice {
  std::string value_to_set;  // "" when the environment is left as it is
  std::string log_line;
};
GrpcExperimentsChoice ChooseGrpcExperiments(const char* current);

struct DaemonSetup {
  MallocTuning malloc;
  std::string grpc_experiments;  // ChooseGrpcExperiments's line
  // Variables main() must set (without overwriting) before gRPC starts.
  std::vector<std::pair<std::string, std::string>> environment;
  // What the daemon logs at start, one setting per line.
  std::vector<std::string> LogLines() const;
};

// `lookup` reads the process environment (main passes the C library's
// lookup; tests pass their own environment). Reads the
// environment only through it and never changes it: what to set is returned
// in `environment`. Not thread-safe: call once at the start of main(), before any thread
// starts.
DaemonSetup SetUpDaemon(absl::FunctionRef<const char*(const char*)> lookup);

}  // namespace tessera

#endif  // TESSERA_COMMON_DAEMON_SETUP_H_
