#ifndef TESSERA_TOOLS_BOUNDING_BOXES_H_
#define TESSERA_TOOLS_BOUNDING_BOXES_H_

// Bounding boxes for image shards, from either of ImageNet's two forms:
//
//  - the ILSVRC XML annotations (one <name>.xml per image, PASCAL VOC style:
//    <size><width/><height/></size> and <object><bndbox><xmin/>...), a file or
//    a directory searched recursively (train: <synset>/<name>.xml; val: flat);
//  - the CSV that TensorFlow's process_bounding_boxes.py writes:
//    "<filename>,<xmin>,<ymin>,<xmax>,<ymax>" per box, already normalized.
//
// Boxes are normalized to [0, 1] of the image's width and height, clamped, and
// min/max swapped when reversed, as process_bounding_boxes.py does. They are
// keyed by the image's stem (file name without extension), the same for train
// and validation images. Free functions; thread-safe.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

struct BoundingBox {
  float xmin = 0, ymin = 0, xmax = 1, ymax = 1;
};

// Image stem -> its boxes, in file order.
using BoxIndex = std::map<std::string, std::vector<BoundingBox>>;

// "n01440764_10026.JPEG" -> "n01440764_10026".
std::string ImageStem(absl::string_view filename);

// The CSV form. INVALID_ARGUMENT naming `name` and the line for a line that is
// not five fields, a number that does not parse, or a value outside [0, 1]
// (NaN included).
absl::StatusOr<BoxIndex> ParseBoxCsv(absl::string_view text, absl::string_view name);

// One XML annotation: its boxes. INVALID_ARGUMENT naming `name` when the size
// or a box coordinate is missing or not a finite number.
absl::StatusOr<std::vector<BoundingBox>> ParseBoxXml(absl::string_view text,
                                                     absl::string_view name);

// `path`: a directory of .xml files, one .xml file, or a CSV file. NOT_FOUND
// when it does not exist.
absl::StatusOr<BoxIndex> ReadBoundingBoxes(const std::string& path);

}  // namespace tessera

#endif  // TESSERA_TOOLS_BOUNDING_BOXES_H_
