#include "common/file_system.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

std::string TestPath(absl::string_view name) {
  return absl::StrCat(testing::TempDir(), "/file_system_test_", name);
}

TEST(FileSystemTest, WritableFileBuffersSmallAndLargeAppends) {
  FileSystem* fs = DefaultFileSystem();
  const std::string path = TestPath("appends");
  auto file = fs->NewWritableFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->path(), path);
  std::string expected;
  for (size_t n : {size_t{3}, size_t{70000}, size_t{10}, size_t{65536}, size_t{1}}) {
    const std::string part(n, static_cast<char>('a' + n % 26));
    ASSERT_TRUE((*file)->Append(part).ok());
    expected += part;
  }
  ASSERT_TRUE((*file)->Flush().ok());
  EXPECT_EQ(*ReadFileToString(path), expected);
  ASSERT_TRUE((*file)->Append("tail").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(*ReadFileToString(path), expected + "tail");
  EXPECT_EQ((*file)->Append("x").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FileSystemTest, RenameDeleteExistsChildren) {
  FileSystem* fs = DefaultFileSystem();
  const std::string dir = TestPath("dir");
  ASSERT_TRUE(fs->CreateDir(dir, "test directory").ok());
  ASSERT_TRUE(WriteFileAtomically(fs, dir + "/a", "1").ok());
  ASSERT_TRUE(fs->RenameFile(dir + "/a", dir + "/b").ok());
  EXPECT_FALSE(fs->FileExists(dir + "/a"));
  EXPECT_TRUE(fs->FileExists(dir + "/b"));
  auto children = fs->GetChildren(dir);
  ASSERT_TRUE(children.ok()) << children.status();
  EXPECT_EQ(*children, std::vector<std::string>{"b"});
  ASSERT_TRUE(fs->DeleteFile(dir + "/b").ok());
  absl::Status s = fs->DeleteFile(dir + "/b");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), absl::StrCat("cannot delete ", dir, "/b: No such file or directory"));
  s = fs->RenameFile(dir + "/b", dir + "/c");
  EXPECT_EQ(s.message(), absl::StrCat("cannot rename ", dir, "/b to ", dir,
                                      "/c: No such file or directory"));
  EXPECT_EQ(fs->GetChildren(dir + "/none").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(fs->SyncDir(dir).ok());
  EXPECT_EQ(fs->SyncDir(dir + "/none").code(), absl::StatusCode::kNotFound);
}

TEST(FileSystemTest, WriteAtomicallyReplacesAndLeavesNoTemporaryFile) {
  FileSystem* fs = DefaultFileSystem();
  const std::string path = TestPath("state");
  ASSERT_TRUE(WriteFileAtomically(fs, path, "first").ok());
  EXPECT_EQ(*ReadFileToString(path), "first");
  ASSERT_TRUE(WriteFileAtomically(fs, path, std::string(100000, 'x')).ok());
  EXPECT_EQ(ReadFileToString(path)->size(), 100000u);
  EXPECT_FALSE(fs->FileExists(absl::StrCat(path, ".tmp.", ::getpid())))
      << "temporary file left behind";
  absl::Status s = WriteFileAtomically(fs, "/no/such/dir/state", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/no/such/dir/state.tmp."), absl::string_view::npos) << s;
}

TEST(FileSystemTest, CreateDirMakesParentsAndNamesFailures) {
  FileSystem* fs = DefaultFileSystem();
  const std::string dir = TestPath("a/b/c");
  ASSERT_TRUE(fs->CreateDir(dir, "directory").ok());
  ASSERT_TRUE(fs->CreateDir(dir, "directory").ok()) << "existing directories are fine";
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  const std::string file = TestPath("plain_file");
  ASSERT_TRUE(WriteFileAtomically(fs, file, "x").ok());
  absl::Status s = fs->CreateDir(file + "/sub", "summary directory");
  EXPECT_EQ(s.message(), absl::StrCat("cannot create summary directory ", file,
                                      "/sub: Not a directory"));
  s = fs->CreateDir(file, "summary directory");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), absl::StrCat("cannot create summary directory ", file,
                                      ": not a directory"));
}

}  // namespace
}  // namespace tessera
