#include "common/file_util.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(FileUtilTest, ReadFileToString) {
  const std::string path = absl::StrCat(testing::TempDir(), "/read_me");
  std::ofstream(path, std::ios::binary) << std::string(100000, 'x');
  absl::StatusOr<std::string> read = ReadFileToString(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, std::string(100000, 'x'));
}

TEST(FileUtilTest, ErrorsNameThePath) {
  auto missing = ReadFileToString("/no/such/file", "config file");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot read config file /no/such/file: No such file or directory");
}

TEST(FileUtilTest, PathHelpers) {
  EXPECT_EQ(Dirname("a/b/c.pbtxt"), "a/b");
  EXPECT_EQ(Dirname("c.pbtxt"), ".");
  EXPECT_EQ(Dirname("/c"), "/");
  EXPECT_EQ(JoinPath("examples", "models/m.pbtxt"), "examples/models/m.pbtxt");
  EXPECT_EQ(JoinPath("examples", "/abs/m.pbtxt"), "/abs/m.pbtxt");
  EXPECT_EQ(JoinPath("", "m.pbtxt"), "m.pbtxt");
}

}  // namespace
}  // namespace tessera
