#ifndef TESSERA_COMMON_MALLOC_TUNING_H_
#define TESSERA_COMMON_MALLOC_TUNING_H_

// glibc malloc settings for the daemons (docs/operations.md, "Memory").

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"

namespace tessera {

inline constexpr int kMallocArenas = 1;
// Twice gRPC's largest TCP read buffer (SetTransportChannelArgs: 4 MiB).
inline constexpr int64_t kMmapThresholdBytes = int64_t{8} << 20;
inline constexpr int64_t kTrimThresholdBytes = int64_t{32} << 20;

// What TuneMalloc did with one setting.
enum class MallocSetting {
  kSet,      // set to Tessera's value
  kByUser,   // left as the environment sets it
  kFailed,   // mallopt refused (glibc's default stays)
};

struct MallocTuning {
  MallocSetting arenas = MallocSetting::kFailed;          // at most kMallocArenas
  MallocSetting mmap_threshold = MallocSetting::kFailed;  // kMmapThresholdBytes
  MallocSetting trim_threshold = MallocSetting::kFailed;  // kTrimThresholdBytes
  // One line for the log, e.g. "malloc: 1 arena, mmap threshold 8 MiB, trim
  // threshold as the environment sets".
  std::string Describe() const;
};

// Call first in main(), before any thread starts, with the C library's
// environment lookup (tests pass
// their own environment). Each setting is skipped when the environment sets
// it: MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, or the
// glibc.malloc.arena_max / mmap_threshold / trim_threshold tunables in
// GLIBC_TUNABLES.
//  - Arenas: by default every thread that allocates gets an arena of its own
//    (up to 8 per core), and each keeps the pages of the most it ever held: a
//    worker with gRPC's threads and two compute threads grew by tens of MiB
//    over 20 minutes of training with its heap in use flat. With the
//    thresholds below each arena also keeps free heap for reuse, so one arena:
//    each ps of the README's cluster held 61-62 MiB with one, 77-86 with two,
//    at the same training and transport speed (the daemons' threads allocate
//    little per step).
//  - Thresholds: gRPC allocates a buffer for each TCP read (1-4 MiB here,
//    SetTransportChannelArgs) and frees it when the message is consumed.
//    glibc's default moves the mmap threshold up to the largest block freed
//    and trims the heap top above twice that, so such buffers kept coming
//    from fresh pages: a page fault per 4 KiB received, a third of the
//    receiving thread's time in bench/ps_transport. Fixed thresholds keep
//    them in the heap, reused. The trim threshold is a trade: with two
//    arenas each ps of the README's cluster held 60-70 MiB at 8 MiB, 76-86
//    at 32 MiB, 80 at 64 MiB; ps_transport at 4 MiB ran about 25% slower at
//    8 MiB and the same at 32 and 64.
MallocTuning TuneMalloc(absl::FunctionRef<const char*(const char*)> lookup);

}  // namespace tessera

#endif  // TESSERA_COMMON_MALLOC_TUNING_H_
