#ifndef TESSERA_COMMON_RECORDS_IMAGE_EXAMPLE_H_
#define TESSERA_COMMON_RECORDS_IMAGE_EXAMPLE_H_

// One labelled image as a tf.train.Example, with exactly the keys and types of
// TensorFlow's build_imagenet_data.py, so shards written by either side read
// the same on the other:
//
//   image/encoded                bytes   the image file (JPEG)
//   image/format                 bytes   "JPEG"
//   image/colorspace             bytes   "RGB"
//   image/channels               int64   3
//   image/height, image/width    int64   pixels
//   image/class/label            int64   1-based; 0 is reserved for background
//   image/class/synset           bytes   e.g. "n01440764"
//   image/class/text             bytes   e.g. "tench, Tinca tinca"
//   image/filename               bytes   base name, e.g. "n01440764_10026.JPEG"
//   image/object/bbox/xmin ...   float   lists (xmin, ymin, xmax, ymax), in
//                                        [0, 1] of width/height; may be empty
//   image/object/bbox/label      int64   list, one label per box
//
// Free functions; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protos/example.pb.h"

namespace tessera {

struct ImageExample {
  std::string encoded;
  std::string format = "JPEG";
  std::string colorspace = "RGB";
  int64_t channels = 3;
  int64_t height = 0;
  int64_t width = 0;
  int64_t label = 0;
  std::string synset;
  std::string text;
  std::string filename;
  std::vector<float> bbox_xmin;
  std::vector<float> bbox_ymin;
  std::vector<float> bbox_xmax;
  std::vector<float> bbox_ymax;
  std::vector<int64_t> bbox_label;

  bool operator==(const ImageExample& other) const;
};

// The Example with every key above, as TF's script writes it (all keys always
// present; box lists possibly empty).
Example ToExample(const ImageExample& image);

// ToExample, serialized deterministically (map entries in key order), so the
// same image always gives the same bytes.
std::string SerializeImageExample(const ImageExample& image);

// The image in `example`. INVALID_ARGUMENT naming the key when image/encoded
// or image/class/label is missing, when a key has the wrong kind (e.g.
// "image/height is a bytes_list, expected an int64_list"), when a single-valued
// key does not hold exactly one value, or when the four box lists (and a
// non-empty box label list) differ in length. Other keys may be missing and
// keep the defaults of ImageExample. Unknown keys are ignored.
absl::StatusOr<ImageExample> FromExample(const Example& example);

// FromExample on a serialized record; INVALID_ARGUMENT when the bytes are not
// an Example.
absl::StatusOr<ImageExample> ParseImageExample(absl::string_view record);

// OUT_OF_RANGE naming the label unless 1 <= image.label <= num_classes.
absl::Status CheckLabelInRange(const ImageExample& image, int64_t num_classes);

}  // namespace tessera

#endif  // TESSERA_COMMON_RECORDS_IMAGE_EXAMPLE_H_
