#include "tools/npz_writer.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fault_file_system.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

std::string TempPath(const std::string& name) {
  return absl::StrCat(testing::TempDir(), "/", name);
}

// Runs `script` with python3 and `arg`; returns the exit code (-1 if it did
// not run). Output goes to the test log.
int RunPython(const std::string& script, const std::string& arg) {
  const std::string script_path = TempPath("npz_check.py");
  std::ofstream(script_path) << script;
  const std::string command = absl::StrCat(kPython, " ", script_path, " ", arg, " 1>&2");
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool PythonHasNumpy() {
  if (::access(kPython, X_OK) != 0) return false;
  const std::string command = absl::StrCat(kPython, " -c 'import numpy' 2>/dev/null");
  return std::system(command.c_str()) == 0;
}

class NpzWriterTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = TempPath("arrays.npz");
    ASSERT_TRUE(WriteNpz(path_, {{"dense/w", {2, 3}, w_},
                                 {"dense/w/m", {2, 3}, m_},
                                 {"bias", {4}, b_},
                                 {"step", {}, s_},
                                 {"empty", {0, 5}, {}}})
                    .ok());
  }

  std::string path_;
  std::vector<float> w_ = {1, -2, 3.5f, 4, 5, 6e-7f};
  std::vector<float> m_ = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  std::vector<float> b_ = {-1, 0, 1, 2};
  std::vector<float> s_ = {42};
};

TEST(NpyHeaderTest, PaddedTo64BytesWithTheDict) {
  for (const Shape& shape : {Shape{}, Shape{7}, Shape{5, 5, 1, 32}}) {
    const std::string h = NpyHeader(shape);
    EXPECT_EQ(h.size() % 64, 0u);
    EXPECT_EQ(h.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    EXPECT_EQ(static_cast<size_t>(static_cast<uint8_t>(h[8]) | (static_cast<uint8_t>(h[9]) << 8)),
              h.size() - 10);
    EXPECT_EQ(h.back(), '\n');
  }
  EXPECT_NE(NpyHeader({7}).find("'shape': (7,), }"), std::string::npos);
  EXPECT_NE(NpyHeader({}).find("{'descr': '<f4', 'fortran_order': False, 'shape': (), }"),
            std::string::npos);
  EXPECT_NE(NpyHeader({5, 5, 1, 32}).find("(5, 5, 1, 32)"), std::string::npos);
}

TEST_F(NpzWriterTest, ZipStructureAndCrcsCheckWithPythonZipfile) {
  if (::access(kPython, X_OK) != 0) GTEST_SKIP() << kPython << " is not installed";
  // Only the standard library: zipfile checks every CRC-32; the .npy header
  // and data are parsed by hand.
  const std::string script = R"(
import ast, struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "bad CRC"
names = sorted(i.filename for i in z.infolist())
assert names == ["bias.npy", "dense/w.npy", "dense/w/m.npy", "empty.npy", "step.npy"], names
assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
def load(name):
    b = z.read(name + ".npy")
    assert b[:8] == b"\x93NUMPY\x01\x00"
    n = struct.unpack("<H", b[8:10])[0]
    assert (10 + n) % 64 == 0
    d = ast.literal_eval(b[10:10 + n].decode("latin1"))
    assert d["descr"] == "<f4" and d["fortran_order"] is False, d
    count = 1
    for s in d["shape"]: count *= s
    data = b[10 + n:]
    assert len(data) == 4 * count, (name, len(data))
    return d["shape"], list(struct.unpack("<%df" % count, data))
assert load("dense/w") == ((2, 3), [1.0, -2.0, 3.5, 4.0, 5.0, struct.unpack("<f", struct.pack("<f", 6e-7))[0]]), load("dense/w")
assert load("bias") == ((4,), [-1.0, 0.0, 1.0, 2.0])
assert load("step") == ((), [42.0])
assert load("empty") == ((0, 5), [])
)";
  EXPECT_EQ(RunPython(script, path_), 0);
}

TEST_F(NpzWriterTest, NumpyLoadsNamesShapesAndValues) {
  if (!PythonHasNumpy()) {
    GTEST_SKIP() << "numpy is not importable by " << kPython
                 << " (apt-get install python3-numpy to run this check)";
  }
  const std::string script = R"(
import sys, numpy
d = numpy.load(sys.argv[1])
assert sorted(d.files) == ["bias", "dense/w", "dense/w/m", "empty", "step"], d.files
w = d["dense/w"]
assert w.dtype == numpy.float32 and w.shape == (2, 3)
assert (w == numpy.array([[1, -2, 3.5], [4, 5, 6e-7]], dtype=numpy.float32)).all()
assert d["dense/w/m"][1, 2] == numpy.float32(0.6)
assert d["bias"].shape == (4,) and d["bias"].tolist() == [-1, 0, 1, 2]
assert d["step"].shape == () and float(d["step"]) == 42
assert d["empty"].shape == (0, 5)
)";
  EXPECT_EQ(RunPython(script, path_), 0);
}

TEST_F(NpzWriterTest, EndsWithTheEndOfCentralDirectoryRecord) {
  std::ifstream in(path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  ASSERT_GE(bytes.size(), 22u);
  EXPECT_EQ(bytes.substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_EQ(bytes.substr(bytes.size() - 22, 4), std::string("PK\x05\x06", 4));
  EXPECT_EQ(static_cast<uint8_t>(bytes[bytes.size() - 22 + 10]), 5);  // entries
}

TEST(NpzWriterErrorsTest, RejectsBadArrays) {
  const std::string path = TempPath("bad.npz");
  std::vector<float> two = {1, 2};
  absl::Status s = WriteNpz(path, {{"a", {3}, two}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("\"a\" has shape [3] but 2 values"), std::string::npos) << s;
  s = WriteNpz(path, {{"a", {2}, two}, {"a", {2}, two}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("given twice"), std::string::npos) << s;
  EXPECT_EQ(WriteNpz(path, {{"../x", {2}, two}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteNpz(path, {{"", {2}, two}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "nothing is written on error";
}

TEST(NpzWriterErrorsTest, UnwritableDirectoryNamesTheFile) {
  std::vector<float> one = {1};
  absl::Status s = WriteNpz("/nonexistent_dir/x.npz", {{"a", {1}, one}});
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent_dir/x.npz.tmp."), std::string::npos) << s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Disk faults while replacing an archive: each names the file and leaves the
// previous archive whole, with no temporary file behind.
TEST(NpzWriterFaultTest, FaultsKeepThePreviousArchive) {
  FaultFileSystem fs(DefaultFileSystem());
  const std::string path = TempPath("faults.npz");
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  std::vector<float> old_values = {1, 2, 3};
  std::vector<float> new_values = {4, 5, 6};
  ASSERT_TRUE(WriteNpz(path, {{"w", {3}, old_values}}, &fs).ok());
  const std::string before = ReadFile(path);

  fs.FailAppend(1, FaultFileSystem::kNoSpace);
  absl::Status s = WriteNpz(path, {{"w", {3}, new_values}}, &fs);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), absl::StrCat("cannot write to ", tmp, ": No space left on device"));
  fs.Clear();
  fs.FailAppend(2, FaultFileSystem::kTorn);
  EXPECT_EQ(WriteNpz(path, {{"w", {3}, new_values}}, &fs).message(),
            absl::StrCat("cannot write to ", tmp, ": Input/output error"));
  fs.Clear();
  fs.FailSync();
  EXPECT_EQ(WriteNpz(path, {{"w", {3}, new_values}}, &fs).message(),
            absl::StrCat("cannot fsync ", tmp, ": Input/output error"));
  fs.Clear();
  fs.FailRename();
  EXPECT_EQ(WriteNpz(path, {{"w", {3}, new_values}}, &fs).message(),
            absl::StrCat("cannot rename ", tmp, " to ", path, ": Input/output error"));

  EXPECT_EQ(ReadFile(path), before);
  EXPECT_NE(::access(tmp.c_str(), F_OK), 0) << "temporary file left behind";
  fs.Clear();
  ASSERT_TRUE(WriteNpz(path, {{"w", {3}, new_values}}, &fs).ok());
  EXPECT_NE(ReadFile(path), before);
}

}  // namespace
}  // namespace tessera
