#ifndef TESSERA_COMMON_REFUSAL_LOG_H_
#define TESSERA_COMMON_REFUSAL_LOG_H_

// Rate limiting for the log lines of refused calls (a wrong job token, a
// request over one of the ps's limits), so that a client that keeps calling
// cannot flood the log: the first refusal is logged, then at most one per
// interval, carrying the number suppressed since. Also used for other events
// that may repeat without end (failed summary writes on a full disk).
// Thread-safe.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace tessera {

class RefusalLog {
 public:
  // `clock` is borrowed. `events` names what is counted in the suppressed
  // note: "... (and 3 more <events> not logged in the last 1m)".
  RefusalLog(Clock* clock, absl::Duration interval, std::string events = "refused call(s)");
  // The line to log for an event described by `what`, or nullopt to stay quiet.
  std::optional<std::string> Record(const std::string& what);

 private:
  Clock* const clock_;
  const absl::Duration interval_;
  const std::string events_;
  absl::Mutex mu_;
  absl::Time last_logged_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tessera

#endif  // TESSERA_COMMON_REFUSAL_LOG_H_
