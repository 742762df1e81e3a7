#include "common/malloc_tuning.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(MallocTuningTest, LeavesTheUsersSettingAlone) {
  EXPECT_FALSE(LimitMallocArenas("8"));
  EXPECT_TRUE(LimitMallocArenas(nullptr));
  EXPECT_TRUE(LimitMallocArenas(""));
}

}  // namespace
}  // namespace tessera
