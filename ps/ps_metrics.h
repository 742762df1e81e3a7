#ifndef TESSERA_PS_PS_METRICS_H_
#define TESSERA_PS_PS_METRICS_H_

// Traffic counters of a parameter server and its last error, for the Admin
// status. Thread-safe; counting is lock-free.

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace tessera {

struct PsMetricsSnapshot {
  int64_t pulls = 0;
  int64_t pushes = 0;
  int64_t bytes_pulled = 0;
  int64_t bytes_pushed = 0;
  double pull_bytes_per_sec = 0;  // since the previous snapshot
  double push_bytes_per_sec = 0;
  int64_t refused = 0;  // requests refused over a cap (ps/ps_limits.h)
  std::string last_error;
  double last_error_age_secs = 0;  // 0 when there is no error
};

class PsMetrics {
 public:
  explicit PsMetrics(Clock* clock);  // borrowed
  void CountPull() { pulls_.fetch_add(1, std::memory_order_relaxed); }
  void CountPush() { pushes_.fetch_add(1, std::memory_order_relaxed); }
  void AddPulledBytes(int64_t n) { bytes_pulled_.fetch_add(n, std::memory_order_relaxed); }
  void AddPushedBytes(int64_t n) { bytes_pushed_.fetch_add(n, std::memory_order_relaxed); }
  void CountRefusal() { refused_.fetch_add(1, std::memory_order_relaxed); }
  void RecordError(absl::string_view message);
  // Pull, Snapshot and Push calls begun so far.
  int64_t requests() const {
    return pulls_.load(std::memory_order_relaxed) + pushes_.load(std::memory_order_relaxed);
  }
  // Totals, and rates over the time since the previous TakeSnapshot.
  PsMetricsSnapshot TakeSnapshot();

 private:
  Clock* const clock_;
  std::atomic<int64_t> pulls_{0};
  std::atomic<int64_t> pushes_{0};
  std::atomic<int64_t> bytes_pulled_{0};
  std::atomic<int64_t> bytes_pushed_{0};
  std::atomic<int64_t> refused_{0};
  absl::Mutex mu_;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::Time last_error_time_ ABSL_GUARDED_BY(mu_);
  absl::Time last_snapshot_ ABSL_GUARDED_BY(mu_);
  int64_t last_pulled_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_pushed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tessera

#endif  // TESSERA_PS_PS_METRICS_H_
