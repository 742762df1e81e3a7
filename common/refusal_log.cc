#include "common/refusal_log.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tessera {

RefusalLog::RefusalLog(Clock* clock, absl::Duration interval, std::string events)
    : clock_(clock), interval_(interval), events_(std::move(events)) {}

std::optional<std::string> RefusalLog::Record(const std::string& what) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  if (now - last_logged_ < interval_) {
    ++suppressed_;
    return std::nullopt;
  }
  std::string line = what;
  if (suppressed_ > 0) {
    absl::StrAppend(&line, " (and ", suppressed_, " more ", events_, " not logged in the last ",
                    absl::FormatDuration(interval_), ")");
  }
  last_logged_ = now;
  suppressed_ = 0;
  return line;
}

}  // namespace tessera
