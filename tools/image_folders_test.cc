#include "tools/image_folders.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tools/test_dir.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

class ImageFoldersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshTestDir();
  }
  std::string Write(const std::string& relative, const std::string& contents) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << contents;
    return path.string();
  }
  std::string Path(const std::string& relative) { return (root_ / relative).string(); }

  fs::path root_;
};

TEST_F(ImageFoldersTest, LabelsFileGivesOneBasedLineNumbers) {
  const std::string path = Write("labels.txt", "n02\n  n01  \nn03\n\n");
  absl::StatusOr<SynsetLabels> labels = ReadLabelsFile(path);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->synsets, (std::vector<std::string>{"n02", "n01", "n03"}));
  EXPECT_EQ(labels->label_of.at("n02"), 1);
  EXPECT_EQ(labels->label_of.at("n01"), 2);
  EXPECT_EQ(labels->label_of.at("n03"), 3);
  EXPECT_EQ(LabelsFileContents(*labels), "n02\nn01\nn03\n");
}

TEST_F(ImageFoldersTest, LabelsFileErrorsNameFileAndLine) {
  const std::string blank = Write("blank.txt", "n01\n\nn02\n");
  EXPECT_EQ(ReadLabelsFile(blank).status().message(),
            "labels file " + blank + " line 2: empty line");
  const std::string twice = Write("twice.txt", "n01\nn02\nn01\n");
  EXPECT_EQ(ReadLabelsFile(twice).status().message(),
            "labels file " + twice + " line 3: synset n01 is listed twice (first as label 1)");
  EXPECT_EQ(ReadLabelsFile(Path("none.txt")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ImageFoldersTest, SubfoldersAreSortedNotListed) {
  for (const char* synset : {"n09", "n01", "n05"}) Write(std::string(synset) + "/a.JPEG", "x");
  Write("stray_file.txt", "not a folder");
  absl::StatusOr<SynsetLabels> labels = LabelsFromSubfolders(root_.string());
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(labels->synsets, (std::vector<std::string>{"n01", "n05", "n09"}));
  EXPECT_EQ(labels->label_of.at("n09"), 3);
}

TEST_F(ImageFoldersTest, MissingTrainDirectoryIsNotFound) {
  absl::StatusOr<SynsetLabels> labels = LabelsFromSubfolders(Path("nowhere"));
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(labels.status().message(),
            "train directory " + Path("nowhere") + " is not a directory");
}

TEST_F(ImageFoldersTest, ListsImagesByLabelThenName) {
  Write("train/n02/b.JPEG", "x");
  Write("train/n02/a.JPEG", "x");
  Write("train/n01/c.JPEG", "x");
  const std::string labels_path = Write("labels.txt", "n02\nn01\n");
  absl::StatusOr<SynsetLabels> labels = ReadLabelsFile(labels_path);
  ASSERT_TRUE(labels.ok());
  absl::StatusOr<std::vector<ImageFile>> images =
      ListImages(Path("train"), *labels, true, "train");
  ASSERT_TRUE(images.ok()) << images.status();
  ASSERT_EQ(images->size(), 3u);
  EXPECT_EQ((*images)[0].filename, "a.JPEG");
  EXPECT_EQ((*images)[0].label, 1);
  EXPECT_EQ((*images)[0].path, Path("train/n02/a.JPEG"));
  EXPECT_EQ((*images)[2].synset, "n01");
  EXPECT_EQ((*images)[2].label, 2);
}

TEST_F(ImageFoldersTest, BadTreesAreNamed) {
  Write("train/n01/a.JPEG", "x");
  fs::create_directories(root_ / "train" / "n02");
  SynsetLabels labels;
  labels.synsets = {"n01", "n02"};
  labels.label_of = {{"n01", 1}, {"n02", 2}};
  labels.source = "labels file L";
  EXPECT_EQ(ListImages(Path("train"), labels, true, "train").status().message(),
            "train directory: synset folder " + Path("train/n02") + " has no files");
  Write("train/n02/b.JPEG", "x");
  Write("train/n03/c.JPEG", "x");
  EXPECT_EQ(ListImages(Path("train"), labels, true, "train").status().message(),
            "train directory " + Path("train") +
                ": folder n03 is not a synset of the labels file L");
  fs::remove_all(root_ / "train" / "n03");
  labels.synsets.push_back("n04");
  labels.label_of["n04"] = 3;
  EXPECT_EQ(ListImages(Path("train"), labels, true, "train").status().message(),
            "labels file L names synset n04, which has no folder " + Path("train/n04"));
  // Validation may cover a subset of the synsets.
  absl::StatusOr<std::vector<ImageFile>> validation =
      ListImages(Path("train"), labels, false, "validation");
  ASSERT_TRUE(validation.ok()) << validation.status();
  EXPECT_EQ(validation->size(), 2u);
}

TEST_F(ImageFoldersTest, MetadataNeedsTabs) {
  const std::string good = Write("meta.txt", "n01\ttench, Tinca tinca\nn02\tgoldfish\n");
  absl::StatusOr<std::map<std::string, std::string>> texts = ReadSynsetTexts(good);
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_EQ(texts->at("n01"), "tench, Tinca tinca");
  const std::string bad = Write("bad.txt", "n01\ttench\nn02 goldfish\n");
  EXPECT_EQ(ReadSynsetTexts(bad).status().message(),
            "imagenet metadata file " + bad + " line 2: expected <synset><TAB><text>");
}

TEST(ShuffleImagesTest, DependsOnlyOnSeedAndList) {
  std::vector<ImageFile> a(50);
  for (int i = 0; i < 50; ++i) a[i].filename = std::to_string(i);
  std::vector<ImageFile> b = a;
  std::vector<ImageFile> c = a;
  ShuffleImages(7, &a);
  ShuffleImages(7, &b);
  ShuffleImages(8, &c);
  auto names = [](const std::vector<ImageFile>& v) {
    std::vector<std::string> out;
    for (const ImageFile& f : v) out.push_back(f.filename);
    return out;
  };
  EXPECT_EQ(names(a), names(b));
  EXPECT_NE(names(a), names(c));
  std::vector<std::string> sorted = names(a);
  std::sort(sorted.begin(), sorted.end());
  std::vector<ImageFile> original(50);
  for (int i = 0; i < 50; ++i) original[i].filename = std::to_string(i);
  std::vector<std::string> want = names(original);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(sorted, want);
}

}  // namespace
}  // namespace tessera
