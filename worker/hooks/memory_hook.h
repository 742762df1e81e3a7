#ifndef TESSERA_WORKER_HOOKS_MEMORY_HOOK_H_
#define TESSERA_WORKER_HOOKS_MEMORY_HOOK_H_

// Returns the heap's free memory to the system once per `interval` of
// training (glibc's malloc_trim). Without it a worker's resident size creeps
// up over hours although nothing leaks: gRPC's message buffers and the
// compute threads' malloc arenas keep the pages of the most they ever held
// (docs/operations.md, "Memory").

#include <cstdint>

#include "absl/time/time.h"
#include "common/clock.h"
#include "worker/training_hook.h"

namespace tessera {

class MemoryHook : public TrainingHook {
 public:
  // `clock` is borrowed. The first trim comes `interval` after Begin.
  MemoryHook(Clock* clock, absl::Duration interval);

  absl::Status Begin(const HookContext& context) override;
  absl::Status AfterStep(const StepInfo& step) override;

  int64_t trims() const { return trims_; }

 private:
  Clock* const clock_;
  const absl::Duration interval_;
  absl::Time next_ = absl::InfiniteFuture();
  int64_t trims_ = 0;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_HOOKS_MEMORY_HOOK_H_
