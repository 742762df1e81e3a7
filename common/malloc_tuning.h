#ifndef TESSERA_COMMON_MALLOC_TUNING_H_
#define TESSERA_COMMON_MALLOC_TUNING_H_

// glibc malloc settings for the daemons (docs/operations.md, "Memory").

namespace tessera {

// Unless the user set MALLOC_ARENA_MAX (`user_setting`, the environment
// value or null), caps glibc malloc at kMallocArenas arenas. By default every
// thread that allocates gets an arena of its own (up to 8 per core), and each
// keeps the pages of the most it ever held: a worker with gRPC's threads and
// two compute threads grew by tens of MiB over 20 minutes of training with
// its heap in use flat. Call first in main(), before any thread starts.
// Returns whether it set the cap.
bool LimitMallocArenas(const char* user_setting);

inline constexpr int kMallocArenas = 2;

}  // namespace tessera

#endif  // TESSERA_COMMON_MALLOC_TUNING_H_
