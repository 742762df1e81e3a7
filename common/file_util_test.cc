#include "common/file_util.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(FileUtilTest, WriteAtomicallyThenRead) {
  const std::string path = absl::StrCat(testing::TempDir(), "/state");
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  EXPECT_EQ(*ReadFileToString(path), "first");
  ASSERT_TRUE(WriteFileAtomically(path, std::string(100000, 'x')).ok());
  EXPECT_EQ(ReadFileToString(path)->size(), 100000u);
  struct stat st;
  EXPECT_NE(::stat(absl::StrCat(path, ".tmp.", ::getpid()).c_str(), &st), 0)
      << "temporary file left behind";
}

TEST(FileUtilTest, ErrorsNameThePath) {
  auto missing = ReadFileToString("/no/such/file", "config file");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot read config file /no/such/file: No such file or directory");
  absl::Status s = WriteFileAtomically("/no/such/dir/state", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/no/such/dir/state.tmp."), absl::string_view::npos) << s;
}

TEST(FileUtilTest, CreateDirectoriesMakesParentsAndNamesFailures) {
  const std::string dir = absl::StrCat(testing::TempDir(), "/a/b/c");
  ASSERT_TRUE(CreateDirectories(dir).ok());
  ASSERT_TRUE(CreateDirectories(dir).ok()) << "existing directories are fine";
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  const std::string file = absl::StrCat(testing::TempDir(), "/plain_file");
  ASSERT_TRUE(WriteFileAtomically(file, "x").ok());
  absl::Status s = CreateDirectories(file + "/sub", "summary directory");
  EXPECT_EQ(s.message(), absl::StrCat("cannot create summary directory ", file,
                                      "/sub: Not a directory"));
  s = CreateDirectories(file, "summary directory");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), absl::StrCat("cannot create summary directory ", file,
                                      ": not a directory"));
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
