#ifndef TESSERA_WORKER_WORKER_STATUS_H_
#define TESSERA_WORKER_WORKER_STATUS_H_

// What a worker is doing, as the Admin service reports it: state, steps,
// throughput, loss, what it waits for, last error. Written by the training
// thread, read by the Admin RPC thread. Thread-safe.

#include <cstdint>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "protos/admin.pb.h"

namespace tessera {

class WorkerStatus {
 public:
  // `clock` is borrowed. `identity` has job, task, address, incarnation,
  // version and blas_kernel filled in; the rest is kept here.
  WorkerStatus(Clock* clock, StatusResponse identity);

  void SetState(absl::string_view state);
  // "" clears it. Also logged by the caller; here it is only shown.
  void SetWaitingFor(absl::string_view what);
  void SetError(absl::string_view error);
  // A checkpoint or summary write failed: `error` becomes the last error, and
  // write_errors counts it.
  void RecordWriteError(absl::string_view error);
  void SetLastCheckpoint(absl::string_view path);
  // One training step finished: its global step, loss, batch size and the
  // time it waited for its input batch.
  void RecordStep(int64_t global_step, float loss, int64_t batch_size,
                  absl::Duration input_wait = absl::ZeroDuration());

  std::string state() const;
  StatusResponse Snapshot() const;

 private:
  Clock* const clock_;
  const absl::Time start_;
  mutable absl::Mutex mu_;
  StatusResponse status_ ABSL_GUARDED_BY(mu_);
  // Throughput over a sliding window restarted every 10 s.
  absl::Time window_start_ ABSL_GUARDED_BY(mu_);
  int64_t window_images_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration window_input_wait_ ABSL_GUARDED_BY(mu_);
  absl::Time last_error_time_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_WORKER_WORKER_STATUS_H_
