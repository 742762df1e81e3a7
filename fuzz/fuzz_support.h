#ifndef TESSERA_FUZZ_FUZZ_SUPPORT_H_
#define TESSERA_FUZZ_FUZZ_SUPPORT_H_

// Helpers for the fuzz targets of this package: a property check that crashes
// (so libFuzzer keeps the input), a reader that carves an input into the
// values a target needs, and a scratch directory for parsers that read files.
// Not thread-safe (libFuzzer runs one input at a time).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"

// Aborts with `what` (a const char* or std::string) unless `condition` holds:
// a broken invariant of a parser is a finding, like a memory error.
#define FUZZ_CHECK(condition, what)                                                        \
  do {                                                                                     \
    if (!(condition)) {                                                                    \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__,        \
                   #condition, std::string(what).c_str());                                 \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace tessera {
namespace fuzz {

// The decoders' pixel limit in the image fuzzers: 4 Mpixel (the default limit
// is 256 Mpixel): a header claiming a huge image makes libjpeg pad out every
// row it lacks, which takes seconds.
inline constexpr int64_t kMaxPixels = int64_t{1} << 22;

// Takes values off the front of a fuzz input; past its end every value is 0
// and every byte string empty, so any input is valid.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  uint8_t Byte() {
    if (rest_.empty()) return 0;
    const uint8_t b = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return b;
  }
  bool Bool() { return Byte() & 1; }
  // Little-endian, from the next 2 / 4 bytes.
  uint16_t U16() { return static_cast<uint16_t>(Byte() | Byte() << 8); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) | static_cast<uint32_t>(U16()) << 16; }
  // In [lo, hi], from the next byte (lo <= hi, hi - lo < 256).
  int Small(int lo, int hi) { return lo + Byte() % (hi - lo + 1); }
  // The next `n` bytes (fewer at the end).
  absl::string_view Bytes(size_t n) {
    const absl::string_view taken = rest_.substr(0, n);
    rest_.remove_prefix(taken.size());
    return taken;
  }
  // A byte string whose length is the next 2 bytes.
  absl::string_view LengthPrefixed() { return Bytes(U16()); }
  // Everything left.
  absl::string_view Rest() {
    const absl::string_view all = rest_;
    rest_ = absl::string_view();
    return all;
  }
  bool empty() const { return rest_.empty(); }

 private:
  absl::string_view rest_;
};

// A directory of this process's own in the temporary directory ($TMPDIR or
// /tmp), created on first use and left behind (scripts/fuzz.sh runs the
// targets with a TMPDIR it removes).
const std::string& ScratchDir();

// Writes `bytes` to `path` (replacing it); aborts on an I/O error, which is
// the machine's fault, not the input's.
void WriteFileOrDie(const std::string& path, absl::string_view bytes);

}  // namespace fuzz
}  // namespace tessera

#endif  // TESSERA_FUZZ_FUZZ_SUPPORT_H_
