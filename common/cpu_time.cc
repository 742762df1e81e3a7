#include "common/cpu_time.h"

#include <time.h>

namespace tessera {

absl::Duration ProcessCpuTime() {
  timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return absl::ZeroDuration();
  return absl::DurationFromTimespec(ts);
}

}  // namespace tessera
