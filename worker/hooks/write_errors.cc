#include "worker/hooks/write_errors.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "worker/worker_status.h"

namespace tessera {

WriteErrors::WriteErrors(std::string what, OnWriteError policy, const HookContext& context,
                         Clock* clock)
    : what_(std::move(what)),
      policy_(policy),
      context_(context),
      log_(clock, absl::Minutes(1), "failed " + what_ + " writes") {}

void WriteErrors::Failed(const absl::Status& error) {
  if (context_.status != nullptr) context_.status->RecordWriteError(error.message());
  bool stop = false;
  {
    absl::MutexLock lock(&mu_);
    ++in_a_row_;
    if (policy_ == STOP_JOB && !stop_asked_) stop = stop_asked_ = true;
  }
  if (stop) {
    LOG(ERROR) << what_ << " write failed; stopping the job (on_" << what_
               << "_error: STOP_JOB): " << error.message();
    if (context_.stop_job) context_.stop_job(error);
    return;
  }
  if (std::optional<std::string> line = log_.Record(std::string(error.message()))) {
    LOG(ERROR) << what_ << " write failed; "
               << (policy_ == STOP_JOB ? "the job is stopping already"
                                       : "training goes on (on_" + what_ + "_error: TRAIN_ON)")
               << ": " << *line;
  }
}

void WriteErrors::Succeeded() {
  int64_t failed = 0;
  {
    absl::MutexLock lock(&mu_);
    failed = in_a_row_;
    in_a_row_ = 0;
  }
  if (failed > 0) {
    LOG(INFO) << what_ << " writes work again after " << failed << " failed";
  }
}

int64_t WriteErrors::failures_in_a_row() const {
  absl::MutexLock lock(&mu_);
  return in_a_row_;
}

}  // namespace tessera
