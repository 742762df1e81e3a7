#include "common/malloc_tuning.h"

#include <malloc.h>

namespace tessera {

bool LimitMallocArenas(const char* user_setting) {
  if (user_setting != nullptr && user_setting[0] != '\0') return false;
  return mallopt(M_ARENA_MAX, kMallocArenas) == 1;
}

}  // namespace tessera
