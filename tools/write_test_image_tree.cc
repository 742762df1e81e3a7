// Test helper: writes a tiny ImageNet-style tree for shell tests of
// tessera_records and its job-array scripts:
//
//   write_test_image_tree DIR
//     DIR/train/n0{1,2,3}/*.JPEG   4 RGB JPEGs each, plus a PNG, a CMYK and a
//                                  grey JPEG and one truncated JPEG
//     DIR/val/n0{1,2,3}/*.JPEG     2 RGB JPEGs each
//     DIR/labels.txt               n03, n01, n02
// Exit code 1 (with a message) when a file cannot be written.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "common/records/test_images.h"

namespace {

bool Write(const std::filesystem::path& path, const std::string& contents) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  std::ofstream out(path, std::ios::binary);
  out << contents;
  out.close();
  if (!out) std::cerr << "write_test_image_tree: cannot write " << path << "\n";
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: write_test_image_tree DIR\n";
    return 2;
  }
  namespace t = tessera::testing;
  const std::filesystem::path root = argv[1];
  bool ok = true;
  int seed = 0;
  for (const std::string synset : {"n01", "n02", "n03"}) {
    for (int i = 0; i < 4; ++i) {
      ++seed;
      ok &= Write(root / "train" / synset / (synset + "_" + std::to_string(i) + ".JPEG"),
                  t::RgbJpeg(t::PatternImage(24 + i, 16, seed)));
    }
    for (int i = 0; i < 2; ++i) {
      ++seed;
      ok &= Write(root / "val" / synset / ("val_" + synset + "_" + std::to_string(i) + ".JPEG"),
                  t::RgbJpeg(t::PatternImage(20, 20, seed)));
    }
  }
  const tessera::RgbImage odd = t::PatternImage(30, 20, 99);
  ok &= Write(root / "train/n01/n01_png.JPEG", t::RgbaPng(odd));
  ok &= Write(root / "train/n02/n02_cmyk.JPEG", t::CmykJpeg(odd));
  ok &= Write(root / "train/n03/n03_grey.JPEG", t::GreyJpeg(odd));
  std::string cut = t::RgbJpeg(t::PatternImage(64, 64, 5));
  ok &= Write(root / "train/n01/n01_cut.JPEG", cut.substr(0, cut.size() / 2));
  ok &= Write(root / "labels.txt", "n03\nn01\nn02\n");
  return ok ? 0 : 1;
}
