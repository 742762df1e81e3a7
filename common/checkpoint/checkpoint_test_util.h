#ifndef TESSERA_COMMON_CHECKPOINT_CHECKPOINT_TEST_UTIL_H_
#define TESSERA_COMMON_CHECKPOINT_CHECKPOINT_TEST_UTIL_H_

// Helpers for checkpoint tests: fresh directories, sample contents, raw file
// access. Test-only.

#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/checkpoint.h"
#include "gtest/gtest.h"

namespace tessera {

// An empty directory unique to the running test.
inline std::string FreshTestDir() {
  const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = absl::StrCat(testing::TempDir(), "/", info->test_suite_name(), "_",
                                       info->name());
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Two variables (one with Adam slots, one without), values derived from `seed`.
inline CheckpointContents SampleContents(int64_t step, const std::string& fingerprint = "fp-1",
                                         float seed = 1.0f) {
  CheckpointContents c;
  c.metadata.global_step = step;
  c.metadata.model_fingerprint = fingerprint;
  c.metadata.optimizer = "adam";
  c.metadata.train_config = "batch_size: 50\nmodel_file: \"m.pbtxt\"\n";
  c.metadata.write_time = absl::FromUnixMicros(1700000000123456);
  Tensor w({3, 4});
  Tensor m({3, 4});
  Tensor v({3, 4});
  for (int64_t i = 0; i < w.size(); ++i) {
    w[i] = seed * static_cast<float>(i) - 2.5f;
    m[i] = 0.01f * static_cast<float>(i);
    v[i] = 0.001f * static_cast<float>(i * i);
  }
  c.variables.push_back({"dense/w", w, {{"m", m}, {"v", v}}});
  c.variables.push_back({"dense/b", Tensor({4}, {seed, 2, 3, 4}), {}});
  return c;
}

}  // namespace tessera

#endif  // TESSERA_COMMON_CHECKPOINT_CHECKPOINT_TEST_UTIL_H_
