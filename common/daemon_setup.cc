#include "common/daemon_setup.h"

#include "absl/synchronization/mutex.h"
#include "absl/strings/str_cat.h"

namespace tessera {

std::vector<std::string> DaemonSetup::LogLines() const {
  return {malloc.Describe(), grpc_experiments, "mutex deadlock detection: off"};
}

GrpcExperimentsChoice ChooseGrpcExperiments(const char* current) {
  if (current != nullptr) {
    return {"", absl::StrCat("gRPC experiments as GRPC_EXPERIMENTS sets: '", current, "'")};
  }
  return {kGrpcExperiments, absl::StrCat("gRPC experiments: ", kGrpcExperiments)};
}

DaemonSetup SetUpDaemon(absl::FunctionRef<const char*(const char*)> lookup) {
  DaemonSetup setup;
  setup.malloc = TuneMalloc(lookup);
  GrpcExperimentsChoice experiments = ChooseGrpcExperiments(lookup("GRPC_EXPERIMENTS"));
  setup.grpc_experiments = experiments.log_line;
  if (!experiments.value_to_set.empty()) {
    setup.environment.emplace_back("GRPC_EXPERIMENTS", experiments.value_to_set);
  }
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return setup;
}

}  // namespace tessera
