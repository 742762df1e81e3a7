// tessera_records' bounding-box files (tools/bounding_boxes.h): the CSV of
// TF's process_bounding_boxes.py and ILSVRC's XML annotations. Every box that
// parses is normalized: coordinates in [0, 1] (so never NaN), min <= max, as
// image/object/bbox/* must be for the crop sampler (data/crop_sampler.h).
//
// Input: a byte choosing the parser (bit 0: XML), then the file.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_support.h"
#include "tools/bounding_boxes.h"

namespace tessera {
namespace {

void CheckBox(const BoundingBox& box) {
  const std::string what =
      absl::StrCat("box [", box.xmin, ", ", box.ymin, ", ", box.xmax, ", ", box.ymax, "]");
  for (float v : {box.xmin, box.ymin, box.xmax, box.ymax}) {
    FUZZ_CHECK(v >= 0.0f && v <= 1.0f, what);
  }
  FUZZ_CHECK(box.xmin <= box.xmax && box.ymin <= box.ymax, what);
}

}  // namespace
}  // namespace tessera

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  fuzz::FuzzInput input(data, size);
  const bool xml = input.Byte() & 1;
  const absl::string_view text = input.Rest();
  if (xml) {
    absl::StatusOr<std::vector<BoundingBox>> boxes = ParseBoxXml(text, "n01440764_10026.xml");
    if (!boxes.ok()) {
      FUZZ_CHECK(boxes.status().code() == absl::StatusCode::kInvalidArgument,
                 boxes.status().ToString());
      return 0;
    }
    for (const BoundingBox& box : *boxes) CheckBox(box);
    return 0;
  }
  absl::StatusOr<BoxIndex> index = ParseBoxCsv(text, "bounding_boxes.csv");
  if (!index.ok()) {
    FUZZ_CHECK(index.status().code() == absl::StatusCode::kInvalidArgument,
               index.status().ToString());
    return 0;
  }
  for (const auto& [stem, boxes] : *index) {
    for (const BoundingBox& box : boxes) CheckBox(box);
  }
  return 0;
}
