#include "worker/hooks/memory_hook.h"

#include <malloc.h>

#include "common/admin/admin_service.h"
#include "common/logging.h"

namespace tessera {

MemoryHook::MemoryHook(Clock* clock, absl::Duration interval)
    : clock_(clock), interval_(interval) {}

absl::Status MemoryHook::Begin(const HookContext& context) {
  next_ = clock_->Now() + interval_;
  return absl::OkStatus();
}

absl::Status MemoryHook::AfterStep(const StepInfo& step) {
  const absl::Time now = clock_->Now();
  if (now < next_) return absl::OkStatus();
  next_ = now + interval_;
  const int64_t before = ResidentSetBytes();
  malloc_trim(0);
  ++trims_;
  const int64_t after = ResidentSetBytes();
  if (before - after >= (int64_t{1} << 20)) {
    LOG(INFO) << "returned " << (before - after) / (1 << 20)
              << " MiB of free heap to the system (resident now " << after / (1 << 20)
              << " MiB)";
  }
  return absl::OkStatus();
}

}  // namespace tessera
