#ifndef TESSERA_DATA_TEST_FILES_H_
#define TESSERA_DATA_TEST_FILES_H_

// Test helpers: write small files (plain or gzip) under $TEST_TMPDIR.
// Test-only; not thread-safe with respect to the same file name.

#include <cstdint>
#include <string>
#include <vector>

namespace tessera {
namespace testing {

// GoogleTest's TempDir() + name ($TEST_TMPDIR/<name> under Bazel).
std::string TempPath(const std::string& name);

// Writes `bytes` to TempPath(name), gzip-compressed when `gzip`; returns the path.
std::string WriteTempFile(const std::string& name, const std::string& bytes,
                          bool gzip = false);

// The bytes of an IDX images file: header with `magic`, count, rows, cols,
// then `pixels` as given (which need not match the header, for corrupt files).
std::string IdxImagesBytes(uint32_t count, uint32_t rows, uint32_t cols,
                           const std::vector<uint8_t>& pixels,
                           uint32_t magic = 0x00000803);

// The bytes of an IDX labels file.
std::string IdxLabelsBytes(uint32_t count, const std::vector<uint8_t>& labels,
                           uint32_t magic = 0x00000801);

}  // namespace testing
}  // namespace tessera

#endif  // TESSERA_DATA_TEST_FILES_H_
