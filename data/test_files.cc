#include "data/test_files.h"

#include <zlib.h>

#include <fstream>

#include "gtest/gtest.h"

namespace tessera {
namespace testing {
namespace {

void AppendBigEndian(uint32_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + name;  // $TEST_TMPDIR/ under Bazel
}

std::string WriteTempFile(const std::string& name, const std::string& bytes, bool gzip) {
  const std::string path = TempPath(name);
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    if (file != nullptr) {
      if (!bytes.empty()) gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
      gzclose(file);
    }
  } else {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  return path;
}

std::string IdxImagesBytes(uint32_t count, uint32_t rows, uint32_t cols,
                           const std::vector<uint8_t>& pixels, uint32_t magic) {
  std::string out;
  AppendBigEndian(magic, &out);
  AppendBigEndian(count, &out);
  AppendBigEndian(rows, &out);
  AppendBigEndian(cols, &out);
  out.append(pixels.begin(), pixels.end());
  return out;
}

std::string IdxLabelsBytes(uint32_t count, const std::vector<uint8_t>& labels,
                           uint32_t magic) {
  std::string out;
  AppendBigEndian(magic, &out);
  AppendBigEndian(count, &out);
  out.append(labels.begin(), labels.end());
  return out;
}

}  // namespace testing
}  // namespace tessera
