#ifndef TESSERA_TOOLS_TEST_IMAGE_TREE_H_
#define TESSERA_TOOLS_TEST_IMAGE_TREE_H_

// Test helper: a tiny ImageNet-style tree, the same in C++ and shell tests.
//
//   ROOT/train/n0{1,2,3}/n0X_{0..3}.JPEG  4 RGB JPEGs per synset
//   ROOT/train/n01/n01_png.JPEG           a PNG named .JPEG
//   ROOT/train/n02/n02_cmyk.JPEG          a CMYK (YCCK) JPEG
//   ROOT/train/n03/n03_grey.JPEG          a greyscale JPEG
//   ROOT/train/n01/n01_cut.JPEG           a truncated JPEG (to be skipped)
//   ROOT/train/n02/README.txt             not an image (to be skipped)
//   ROOT/val/n0X/val_n0X_{0,1}.JPEG       2 RGB JPEGs per synset
//   ROOT/labels.txt                       n03, n01, n02 (not sorted order)
//   ROOT/meta.txt                         synset texts: tench, goldfish, shark
//   ROOT/boxes.csv                        boxes for n01_0.JPEG and val_n02_1.JPEG
//
// So 15 train and 6 validation images convert, 2 files are skipped.
// Test-only.

#include <string>

#include "absl/status/status.h"

namespace tessera {

// Writes the tree under `root` (created if missing). An error names the file.
absl::Status WriteTestImageTree(const std::string& root);

}  // namespace tessera

#endif  // TESSERA_TOOLS_TEST_IMAGE_TREE_H_
