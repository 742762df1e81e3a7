#include "tools/test_image_tree.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/records/test_images.h"

namespace tessera {
namespace {

absl::Status Write(const std::filesystem::path& path, const std::string& contents) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  std::ofstream out(path, std::ios::binary);
  out << contents;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteTestImageTree(const std::string& root_name) {
  namespace t = testing;
  const std::filesystem::path root = root_name;
  absl::Status status;
  int seed = 0;
  for (const std::string synset : {"n01", "n02", "n03"}) {
    for (int i = 0; i < 4; ++i) {
      ++seed;
      status.Update(Write(root / "train" / synset / absl::StrCat(synset, "_", i, ".JPEG"),
                          t::RgbJpeg(t::PatternImage(24 + i, 16 + seed % 5, seed))));
    }
    for (int i = 0; i < 2; ++i) {
      ++seed;
      status.Update(Write(root / "val" / synset / absl::StrCat("val_", synset, "_", i, ".JPEG"),
                          t::RgbJpeg(t::PatternImage(20, 20, seed))));
    }
  }
  const RgbImage odd = t::PatternImage(30, 20, 99);
  status.Update(Write(root / "train/n01/n01_png.JPEG", t::RgbaPng(odd)));
  status.Update(Write(root / "train/n02/n02_cmyk.JPEG", t::CmykJpeg(odd)));
  status.Update(Write(root / "train/n03/n03_grey.JPEG", t::GreyJpeg(odd)));
  const std::string cut = t::RgbJpeg(t::PatternImage(64, 64, 5));
  status.Update(Write(root / "train/n01/n01_cut.JPEG", cut.substr(0, cut.size() / 2)));
  status.Update(Write(root / "train/n02/README.txt", "not an image\n"));
  status.Update(Write(root / "labels.txt", "n03\nn01\nn02\n"));
  status.Update(Write(root / "meta.txt", "n01\ttench\nn02\tgoldfish\nn03\tshark\nn04\tunused\n"));
  status.Update(
      Write(root / "boxes.csv", "n01_0.JPEG,0.1,0.2,0.3,0.4\nval_n02_1.JPEG,0,0,0.5,0.5\n"));
  return status;
}

}  // namespace tessera
