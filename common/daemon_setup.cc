#include "common/daemon_setup.h"

#include "absl/synchronization/mutex.h"
#include "common/chunk_coding.h"

namespace tessera {

std::vector<std::string> DaemonSetup::LogLines() const {
  return {malloc.Describe(), grpc_experiments, "mutex deadlock detection: off"};
}

DaemonSetup SetUpDaemon(absl::FunctionRef<const char*(const char*)> getenv) {
  DaemonSetup setup;
  setup.malloc = TuneMalloc(getenv);
  setup.grpc_experiments = ChooseGrpcExperiments();
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return setup;
}

}  // namespace tessera
