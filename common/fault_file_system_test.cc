#include "common/fault_file_system.h"

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

std::string TestPath(absl::string_view name) {
  return absl::StrCat(testing::TempDir(), "/fault_file_system_test_", name);
}

TEST(FaultFileSystemTest, NoSpaceFailsTheNthAppendAndLaterOnesUntilCleared) {
  FaultFileSystem fs(DefaultFileSystem());
  const std::string path = TestPath("full");
  auto file = fs.NewWritableFile(path);
  ASSERT_TRUE(file.ok());
  fs.FailAppend(2, FaultFileSystem::kNoSpace);
  ASSERT_TRUE((*file)->Append("ab").ok());
  absl::Status s = (*file)->Append("cd");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", path, ": No space left on device"));
  EXPECT_EQ((*file)->Append("ef").code(), absl::StatusCode::kResourceExhausted);
  fs.Clear();
  ASSERT_TRUE((*file)->Append("gh").ok());
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(*ReadFileToString(path), "abgh");
  EXPECT_EQ(fs.appends(), 4);
}

TEST(FaultFileSystemTest, TornAppendWritesHalfThenFails) {
  FaultFileSystem fs(DefaultFileSystem());
  const std::string path = TestPath("torn");
  auto file = fs.NewWritableFile(path);
  ASSERT_TRUE(file.ok());
  fs.FailAppend(1, FaultFileSystem::kTorn, "torn");
  absl::Status s = (*file)->Append("12345678");
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", path, ": Input/output error"));
  EXPECT_EQ(*ReadFileToString(path), "1234");
  ASSERT_TRUE((*file)->Append("x").ok()) << "a torn write is a single fault";
}

TEST(FaultFileSystemTest, SyncAndRenameFailOnlyForMatchingPaths) {
  FaultFileSystem fs(DefaultFileSystem());
  const std::string a = TestPath("sync_a");
  const std::string b = TestPath("sync_b");
  fs.FailSync("sync_a");
  fs.FailRename("sync_a");
  auto fa = fs.NewWritableFile(a);
  auto fb = fs.NewWritableFile(b);
  ASSERT_TRUE(fa.ok() && fb.ok());
  ASSERT_TRUE((*fa)->Append("a").ok());
  EXPECT_EQ((*fa)->Sync().message(), absl::StrCat("cannot fsync ", a, ": Input/output error"));
  EXPECT_EQ(*ReadFileToString(a), "a") << "a failed fsync still flushed";
  EXPECT_TRUE((*fb)->Sync().ok());
  EXPECT_EQ(fs.RenameFile(a, a + ".new").message(),
            absl::StrCat("cannot rename ", a, " to ", a, ".new: Input/output error"));
  EXPECT_TRUE(fs.FileExists(a));
  EXPECT_TRUE(fs.RenameFile(b, b + ".new").ok());
  fs.Clear();
  EXPECT_TRUE((*fa)->Sync().ok());
  EXPECT_TRUE(fs.RenameFile(a, a + ".new").ok());
}

}  // namespace
}  // namespace tessera
