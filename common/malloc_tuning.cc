#include "common/malloc_tuning.h"

#include <malloc.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tessera {
namespace {

// Whether the environment sets the malloc parameter with legacy variable
// `variable` or GLIBC_TUNABLES entry `tunable`.
bool UserSets(absl::FunctionRef<const char*(const char*)> getenv, const char* variable,
              const char* tunable) {
  const char* value = getenv(variable);
  if (value != nullptr && value[0] != '\0') return true;
  const char* tunables = getenv("GLIBC_TUNABLES");
  return tunables != nullptr && absl::StrContains(tunables, absl::StrCat(tunable, "="));
}

}  // namespace

std::string MallocTuning::Describe() const {
  std::vector<std::string> parts;
  parts.push_back(arenas ? absl::StrCat(kMallocArenas, " arenas")
                         : "arenas as the environment sets");
  parts.push_back(mmap_threshold
                      ? absl::StrCat("mmap threshold ", kMmapThresholdBytes >> 20, " MiB")
                      : "mmap threshold as the environment sets");
  parts.push_back(trim_threshold
                      ? absl::StrCat("trim threshold ", kTrimThresholdBytes >> 20, " MiB")
                      : "trim threshold as the environment sets");
  return absl::StrCat("malloc: ", absl::StrJoin(parts, ", "));
}

MallocTuning TuneMalloc(absl::FunctionRef<const char*(const char*)> getenv) {
  MallocTuning tuning;
  if (!UserSets(getenv, "MALLOC_ARENA_MAX", "glibc.malloc.arena_max")) {
    tuning.arenas = mallopt(M_ARENA_MAX, kMallocArenas) == 1;
  }
  if (!UserSets(getenv, "MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold")) {
    tuning.mmap_threshold = mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThresholdBytes)) == 1;
  }
  if (!UserSets(getenv, "MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold")) {
    tuning.trim_threshold = mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThresholdBytes)) == 1;
  }
  return tuning;
}

}  // namespace tessera
