#ifndef TESSERA_COMMON_CPU_TIME_H_
#define TESSERA_COMMON_CPU_TIME_H_

// CPU time this process has used, every thread (CLOCK_PROCESS_CPUTIME_ID):
// what a piece of work cost in CPU, as opposed to the wall time it took on a
// shared machine. Thread-safe.

#include "absl/time/time.h"

namespace tessera {

// User plus system time of every thread of this process so far; zero when
// the clock cannot be read (never on Linux).
absl::Duration ProcessCpuTime();

}  // namespace tessera

#endif  // TESSERA_COMMON_CPU_TIME_H_
