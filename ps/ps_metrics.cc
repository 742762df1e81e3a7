#include "ps/ps_metrics.h"

namespace tessera {

PsMetrics::PsMetrics(Clock* clock) : clock_(clock), last_snapshot_(clock->Now()) {}

void PsMetrics::RecordError(absl::string_view message) {
  absl::MutexLock lock(&mu_);
  last_error_ = std::string(message);
  last_error_time_ = clock_->Now();
}

PsMetricsSnapshot PsMetrics::TakeSnapshot() {
  PsMetricsSnapshot snapshot;
  snapshot.pulls = pulls_.load();
  snapshot.pushes = pushes_.load();
  snapshot.bytes_pulled = bytes_pulled_.load();
  snapshot.bytes_pushed = bytes_pushed_.load();
  snapshot.refused = refused_.load();
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  const double seconds = absl::ToDoubleSeconds(now - last_snapshot_);
  if (seconds > 0) {
    snapshot.pull_bytes_per_sec = (snapshot.bytes_pulled - last_pulled_) / seconds;
    snapshot.push_bytes_per_sec = (snapshot.bytes_pushed - last_pushed_) / seconds;
  }
  last_snapshot_ = now;
  last_pulled_ = snapshot.bytes_pulled;
  last_pushed_ = snapshot.bytes_pushed;
  snapshot.last_error = last_error_;
  if (!last_error_.empty()) {
    snapshot.last_error_age_secs = absl::ToDoubleSeconds(now - last_error_time_);
  }
  return snapshot;
}

}  // namespace tessera
