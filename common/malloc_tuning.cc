#include "common/malloc_tuning.h"

#include <malloc.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tessera {
namespace {

// Whether the environment sets the malloc parameter with legacy variable
// `variable` or GLIBC_TUNABLES entry `tunable`.
bool UserSets(absl::FunctionRef<const char*(const char*)> lookup, const char* variable,
              const char* tunable) {
  const char* value = lookup(variable);
  if (value != nullptr && value[0] != '\0') return true;
  const char* tunables = lookup("GLIBC_TUNABLES");
  return tunables != nullptr && absl::StrContains(tunables, absl::StrCat(tunable, "="));
}

}  // namespace

std::string MallocTuning::Describe() const {
  auto describe = [](MallocSetting setting, const std::string& value, const char* what) {
    switch (setting) {
      case MallocSetting::kSet:
        return value;
      case MallocSetting::kByUser:
        return absl::StrCat(what, " as the environment sets");
      case MallocSetting::kFailed:
        break;
    }
    return absl::StrCat(what, " glibc's default (mallopt refused ", value, ")");
  };
  return absl::StrCat(
      "malloc: ",
      describe(arenas, absl::StrCat(kMallocArenas, kMallocArenas == 1 ? " arena" : " arenas"),
               "arenas"),
      ", ",
      describe(mmap_threshold, absl::StrCat("mmap threshold ", kMmapThresholdBytes >> 20, " MiB"),
               "mmap threshold"),
      ", ",
      describe(trim_threshold, absl::StrCat("trim threshold ", kTrimThresholdBytes >> 20, " MiB"),
               "trim threshold"));
}

MallocTuning TuneMalloc(absl::FunctionRef<const char*(const char*)> lookup) {
  auto apply = [&](const char* variable, const char* tunable, int param, int64_t value) {
    if (UserSets(lookup, variable, tunable)) return MallocSetting::kByUser;
    return mallopt(param, static_cast<int>(value)) == 1 ? MallocSetting::kSet
                                                        : MallocSetting::kFailed;
  };
  MallocTuning tuning;
  tuning.arenas = apply("MALLOC_ARENA_MAX", "glibc.malloc.arena_max", M_ARENA_MAX, kMallocArenas);
  tuning.mmap_threshold = apply("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold",
                                M_MMAP_THRESHOLD, kMmapThresholdBytes);
  tuning.trim_threshold = apply("MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold",
                                M_TRIM_THRESHOLD, kTrimThresholdBytes);
  return tuning;
}

}  // namespace tessera
