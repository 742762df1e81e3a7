#include "worker/worker_status.h"

#include <utility>

namespace tessera {

WorkerStatus::WorkerStatus(Clock* clock, StatusResponse identity)
    : clock_(clock), start_(clock->Now()), status_(std::move(identity)), window_start_(start_) {
  status_.set_state("starting");
  status_.set_global_step(-1);
}

void WorkerStatus::SetState(absl::string_view state) {
  absl::MutexLock lock(&mu_);
  status_.set_state(std::string(state));
}

void WorkerStatus::SetWaitingFor(absl::string_view what) {
  absl::MutexLock lock(&mu_);
  status_.set_waiting_for(std::string(what));
}

void WorkerStatus::SetError(absl::string_view error) {
  absl::MutexLock lock(&mu_);
  status_.set_last_error(std::string(error));
  last_error_time_ = clock_->Now();
}

void WorkerStatus::RecordWriteError(absl::string_view error) {
  absl::MutexLock lock(&mu_);
  status_.set_last_error(std::string(error));
  status_.set_write_errors(status_.write_errors() + 1);
  last_error_time_ = clock_->Now();
}

void WorkerStatus::SetLastCheckpoint(absl::string_view path) {
  absl::MutexLock lock(&mu_);
  status_.set_last_checkpoint(std::string(path));
}

void WorkerStatus::RecordStep(int64_t global_step, float loss, int64_t batch_size,
                              absl::Duration input_wait) {
  absl::MutexLock lock(&mu_);
  status_.set_global_step(global_step);
  status_.set_loss(loss);
  status_.set_local_steps(status_.local_steps() + 1);
  window_images_ += batch_size;
  window_input_wait_ += input_wait;
  const absl::Time now = clock_->Now();
  const double secs = absl::ToDoubleSeconds(now - window_start_);
  if (secs >= 1.0) {
    status_.set_images_per_sec(window_images_ / secs);
    status_.set_input_wait_fraction(absl::ToDoubleSeconds(window_input_wait_) / secs);
  }
  if (secs >= 10.0) {
    window_start_ = now;
    window_images_ = 0;
    window_input_wait_ = absl::ZeroDuration();
  }
}

std::string WorkerStatus::state() const {
  absl::MutexLock lock(&mu_);
  return status_.state();
}

StatusResponse WorkerStatus::Snapshot() const {
  absl::MutexLock lock(&mu_);
  StatusResponse out = status_;
  const absl::Time now = clock_->Now();
  out.set_uptime_seconds(absl::ToDoubleSeconds(now - start_));
  if (!out.last_error().empty()) {
    out.set_last_error_age_secs(absl::ToDoubleSeconds(now - last_error_time_));
  }
  return out;
}

}  // namespace tessera
