// The TFRecord reader (common/records/tfrecord.h) over any file: it returns
// records whose framing and CRCs check out, in order, each within the file,
// then the end, a truncated tail (when allowed) or DATA_LOSS; never more
// memory than the file could hold.
//
// Input: a mode byte, then the file. Mode bit 0 rewrites each record's length
// CRC and bit 1 its data CRC to the correct values before reading (walking the
// records by their lengths), so that lengths and payloads are explored behind
// the CRCs a random mutation would break.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/coding.h"
#include "common/crc32c.h"
#include "common/records/tfrecord.h"
#include "fuzz/fuzz_support.h"

namespace tessera {
namespace {

void RepairCrcs(bool length_crc, bool data_crc, std::string* file) {
  uint64_t at = 0;
  while (at + 12 <= file->size()) {
    char* header = file->data() + at;
    const uint64_t length = DecodeFixed64(header);
    if (length_crc) EncodeFixed32(header + 8, crc32c::Mask(crc32c::Value(header, 8)));
    if (length > file->size() - at - 12) return;
    if (data_crc && length + 4 <= file->size() - at - 12) {
      EncodeFixed32(header + 12 + length, crc32c::Mask(crc32c::Value(header + 12, length)));
    }
    at += 16 + length;
  }
}

}  // namespace
}  // namespace tessera

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  fuzz::FuzzInput input(data, size);
  const uint8_t mode = input.Byte();
  std::string file(input.Rest());
  RepairCrcs(mode & 1, mode & 2, &file);
  size = file.size();
  const std::string path = fuzz::ScratchDir() + "/input.tfrecord";
  fuzz::WriteFileOrDie(path, file);
  for (const bool allow_truncated_tail : {false, true}) {
    TFRecordReader::Options options;
    options.allow_truncated_tail = allow_truncated_tail;
    absl::StatusOr<std::unique_ptr<TFRecordReader>> reader = TFRecordReader::Open(path, options);
    FUZZ_CHECK(reader.ok(), reader.status().ToString());
    std::string record;
    uint64_t end = 0;
    while (true) {
      absl::StatusOr<bool> more = (*reader)->ReadRecord(&record);
      if (!more.ok()) {
        FUZZ_CHECK(more.status().code() == absl::StatusCode::kDataLoss,
                   more.status().ToString());
        break;
      }
      if (!*more) {
        FUZZ_CHECK((*reader)->offset() == size || (*reader)->truncated_tail(),
                   absl::StrCat("stopped at ", (*reader)->offset(), " of ", size));
        FUZZ_CHECK(allow_truncated_tail || !(*reader)->truncated_tail(), "truncated_tail");
        break;
      }
      FUZZ_CHECK((*reader)->offset() == end + 16 + record.size() && (*reader)->offset() <= size,
                 absl::StrCat("record of ", record.size(), " bytes ends at ",
                              (*reader)->offset()));
      end = (*reader)->offset();
    }
  }
  return 0;
}
