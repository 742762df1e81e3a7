#ifndef TESSERA_TOOLS_TEST_DIR_H_
#define TESSERA_TOOLS_TEST_DIR_H_

// Test helper: a fresh, empty directory for the running test,
// <TEST_TMPDIR>/<test name>. Test-only; call from the test's thread.

#include <filesystem>

#include "gtest/gtest.h"

namespace tessera {

inline std::filesystem::path FreshTestDir() {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace tessera

#endif  // TESSERA_TOOLS_TEST_DIR_H_
