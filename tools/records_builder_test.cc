#include "tools/records_builder.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/fault_file_system.h"
#include "common/file_util.h"
#include "common/records/image_codec.h"
#include "common/records/image_example.h"
#include "common/records/jpeg_restarts.h"
#include "common/records/test_images.h"
#include "common/records/tfrecord.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/test_dir.h"
#include "tools/test_image_tree.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// On the tiny tree of tools/test_image_tree.h.
class RecordsBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshTestDir();
    ASSERT_TRUE(WriteTestImageTree(root_.string()).ok());
  }

  void Write(const std::string& relative, const std::string& contents) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << contents;
  }
  std::string Path(const std::string& relative) const { return (root_ / relative).string(); }

  RecordsOptions Options(const std::string& out) const {
    RecordsOptions o;
    o.train_directory = Path("train");
    o.validation_directory = Path("val");
    o.output_directory = Path(out);
    o.labels_file = Path("labels.txt");
    o.imagenet_metadata_file = Path("meta.txt");
    o.bounding_box_file = Path("boxes.csv");
    o.train_shards = 4;
    o.validation_shards = 2;
    o.num_threads = 2;
    return o;
  }

  // Every file of `dir` by name.
  static std::map<std::string, std::string> Files(const std::string& dir) {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
      files[entry.path().filename().string()] = *ReadFileToString(entry.path().string());
    }
    return files;
  }

  static std::vector<ImageExample> ReadShard(const std::string& path) {
    std::vector<ImageExample> images;
    std::unique_ptr<TFRecordReader> reader = *TFRecordReader::Open(path);
    std::string record;
    while (*reader->ReadRecord(&record)) images.push_back(*ParseImageExample(record));
    return images;
  }

  fs::path root_;
};

TEST_F(RecordsBuilderTest, ConvertsTheTreeAsTensorFlowWould) {
  absl::StatusOr<RecordsSummary> summary = BuildRecords(Options("out"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->shards_total, 6);
  EXPECT_EQ(summary->shards_written, 6);
  EXPECT_EQ(summary->images_written, 12 + 3 + 6);
  ASSERT_EQ(summary->skipped_images.size(), 2u);
  std::string skipped = summary->skipped_images[0] + "\n" + summary->skipped_images[1];
  EXPECT_THAT(skipped, HasSubstr(Path("train/n01/n01_cut.JPEG") + ": corrupt JPEG"));
  EXPECT_THAT(skipped, HasSubstr(Path("train/n02/README.txt") + ": not a JPEG or PNG"));
  EXPECT_THAT(FormatSummary(*summary), HasSubstr("images skipped: 2"));

  const std::map<std::string, std::string> files = Files(Path("out"));
  std::set<std::string> names;
  for (const auto& [name, contents] : files) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{
                       "labels.txt", "train-00000-of-00004", "train-00001-of-00004",
                       "train-00002-of-00004", "train-00003-of-00004",
                       "validation-00000-of-00002", "validation-00001-of-00002"}));
  EXPECT_EQ(files.at("labels.txt"), "n03\nn01\nn02\n");

  const std::map<std::string, int64_t> want_label = {{"n03", 1}, {"n01", 2}, {"n02", 3}};
  const std::map<std::string, std::string> want_text = {
      {"n01", "tench"}, {"n02", "goldfish"}, {"n03", "shark"}};
  int train = 0, validation = 0, with_boxes = 0;
  for (const auto& [name, contents] : files) {
    if (name == "labels.txt") continue;
    for (const ImageExample& image : ReadShard(Path("out/" + name))) {
      (name[0] == 't' ? train : validation)++;
      EXPECT_EQ(image.label, want_label.at(image.synset)) << image.filename;
      EXPECT_EQ(image.text, want_text.at(image.synset));
      EXPECT_EQ(image.format, "JPEG");
      EXPECT_EQ(image.colorspace, "RGB");
      EXPECT_EQ(image.channels, 3);
      // Every stored image is an RGB JPEG that needs no further conversion.
      absl::StatusOr<ShardImage> stored = ToShardImage(image.encoded, image.filename);
      ASSERT_TRUE(stored.ok()) << stored.status();
      EXPECT_FALSE(stored->reencoded) << image.filename;
      EXPECT_EQ(stored->width, image.width);
      EXPECT_EQ(stored->height, image.height);
      if (image.filename == "n01_png.JPEG" || image.filename == "n02_cmyk.JPEG") {
        EXPECT_EQ(image.width, 30);
        EXPECT_EQ(image.height, 20);
      }
      if (!image.bbox_xmin.empty()) {
        ++with_boxes;
        EXPECT_EQ(image.bbox_label, std::vector<int64_t>{image.label});
        if (image.filename == "n01_0.JPEG") {
          EXPECT_FLOAT_EQ(image.bbox_ymax[0], 0.4f);
        }
        if (image.filename == "val_n02_1.JPEG") {
          EXPECT_FLOAT_EQ(image.bbox_xmax[0], 0.5f);
        }
      }
    }
  }
  EXPECT_EQ(train, 15);
  EXPECT_EQ(validation, 6);
  EXPECT_EQ(with_boxes, 2);  // one train image, one validation image
}

// A stored JPEG is the input file rewritten with restart markers: the very
// pixels, and a file the training reader can cut (common/records/jpeg_restarts.h);
// with restart_markers = false, the file byte for byte.
TEST_F(RecordsBuilderTest, StoresJpegsWithRestartMarkersAndTheFilesPixels) {
  for (bool markers : {true, false}) {
    RecordsOptions o = Options(markers ? "marked" : "plain");
    o.restart_markers = markers;
    ASSERT_TRUE(BuildRecords(o).ok());
    int compared = 0, cuttable_files = 0;
    for (const auto& [name, contents] : Files(o.output_directory)) {
      if (name == "labels.txt") continue;
      for (const ImageExample& image : ReadShard(o.output_directory + "/" + name)) {
        const std::string dir = name[0] == 't' ? "train/" : "val/";
        const std::string file = *ReadFileToString(Path(dir + image.synset + "/" + image.filename));
        if (DetectImageFormat(file) != ImageFormat::kJpeg || image.filename == "n02_cmyk.JPEG" ||
            image.filename == "n03_grey.JPEG") {
          continue;  // re-encoded from PNG, CMYK or grey
        }
        ++compared;
        JpegCut cut;
        const bool cuttable = CutToWindow(image.encoded, PixelWindow{0, 0, 1, 1}, &cut);
        cuttable_files += cuttable;
        if (markers) {
          EXPECT_NE(image.encoded, file) << image.filename;
          EXPECT_EQ(DecodeJpegToRgb(image.encoded, "stored")->pixels,
                    DecodeJpegToRgb(file, "file")->pixels)
              << image.filename;
          EXPECT_TRUE(cuttable || (image.width <= 64 && image.height <= 16)) << image.filename;
        } else {
          EXPECT_EQ(image.encoded, file) << image.filename;
          EXPECT_FALSE(cuttable) << image.filename;
        }
      }
    }
    EXPECT_GE(compared, 15);
    if (markers) {
      EXPECT_GE(cuttable_files, 5);  // those of two MCU rows or more
    }
  }
}

TEST_F(RecordsBuilderTest, ThreeArrayTasksWriteTheOneRunsBytesWithoutOverlap) {
  RecordsOptions one = Options("one");
  one.num_threads = 1;
  ASSERT_TRUE(BuildRecords(one).ok());
  int written = 0;
  for (int index = 0; index < 3; ++index) {
    RecordsOptions task = Options("array");
    task.array_size = 3;
    task.array_index = index;
    absl::StatusOr<RecordsSummary> summary = BuildRecords(task);
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->shards_in_run, 2);
    EXPECT_EQ(summary->shards_written, 2);  // nothing another task already wrote
    EXPECT_EQ(summary->shards_already_complete, 0);
    written += summary->shards_written;
  }
  EXPECT_EQ(written, 6);
  EXPECT_EQ(Files(Path("array")), Files(Path("one")));
}

TEST_F(RecordsBuilderTest, ShardRangeWritesOnlyThoseShards) {
  RecordsOptions o = Options("out");
  o.shard_range = "3-4";
  absl::StatusOr<RecordsSummary> summary = BuildRecords(o);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->shards_written, 2);
  const auto files = Files(Path("out"));
  EXPECT_EQ(files.size(), 3u);
  EXPECT_EQ(files.count("train-00003-of-00004"), 1u);
  EXPECT_EQ(files.count("validation-00000-of-00002"), 1u);
}

TEST_F(RecordsBuilderTest, ResumeAfterAKilledTaskWritesOnlyWhatIsMissing) {
  ASSERT_TRUE(BuildRecords(Options("out")).ok());
  const auto complete = Files(Path("out"));
  // The killed task: one shard never renamed (a partial .tmp left), one shard
  // cut short by something else.
  fs::remove(Path("out/train-00002-of-00004"));
  Write("out/train-00002-of-00004.tmp", complete.at("train-00002-of-00004").substr(0, 100));
  const std::string cut = complete.at("validation-00001-of-00002");
  Write("out/validation-00001-of-00002", cut.substr(0, cut.size() - 7));
  absl::StatusOr<RecordsSummary> summary = BuildRecords(Options("out"));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->shards_written, 2);
  EXPECT_EQ(summary->shards_already_complete, 4);
  EXPECT_EQ(Files(Path("out")), complete);  // and no .tmp left
}

// A full disk part-way through a run (docs/reliability.md): the run stops with
// an error naming the shard, the shards finished before it stay, none is left
// half-written, and the rerun on a healthy disk writes only what is missing,
// ending with the bytes of a run without faults.
TEST_F(RecordsBuilderTest, FullDiskStopsTheRunAndTheRerunCompletesIt) {
  RecordsOptions clean = Options("clean");
  clean.num_threads = 1;
  ASSERT_TRUE(BuildRecords(clean).ok());
  FaultFileSystem faults(DefaultFileSystem());
  RecordsOptions o = Options("out");
  o.num_threads = 1;
  o.fs = &faults;
  faults.FailAppend(1, FaultFileSystem::kNoSpace, "train-00002-of-00004");
  absl::StatusOr<RecordsSummary> summary = BuildRecords(o);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(summary.status().message(),
              HasSubstr("cannot write to " + Path("out/train-00002-of-00004.tmp") +
                        ": No space left on device"));
  const auto partial = Files(Path("out"));
  for (const auto& [name, bytes] : partial) {
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
    EXPECT_NE(name, "train-00002-of-00004");
    if (Files(Path("clean")).count(name)) {
      EXPECT_EQ(bytes, Files(Path("clean")).at(name)) << name;
    }
  }

  faults.Clear();
  summary = BuildRecords(o);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GE(summary->shards_already_complete, 2);  // train-00000 and 00001 came first
  EXPECT_EQ(Files(Path("out")), Files(Path("clean")));
}

TEST_F(RecordsBuilderTest, ShardsOfAnotherSeedAreNotTrustedByName) {
  RecordsOptions o = Options("out");
  o.seed = 1;
  ASSERT_TRUE(BuildRecords(o).ok());
  o.seed = 2;
  absl::StatusOr<RecordsSummary> summary = BuildRecords(o);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GE(summary->shards_written, 5);  // a shard may hold the same images by chance
  RecordsOptions fresh = Options("fresh");
  fresh.seed = 2;
  ASSERT_TRUE(BuildRecords(fresh).ok());
  EXPECT_EQ(Files(Path("out")), Files(Path("fresh")));
}

TEST_F(RecordsBuilderTest, LabelsFromSortedSubfoldersWithoutALabelsFile) {
  RecordsOptions o = Options("out");
  o.labels_file.clear();
  ASSERT_TRUE(BuildRecords(o).ok());
  EXPECT_EQ(*ReadFileToString(Path("out/labels.txt")), "n01\nn02\nn03\n");
  for (const ImageExample& image : ReadShard(Path("out/validation-00000-of-00002"))) {
    EXPECT_EQ(image.label, std::stoi(image.synset.substr(1))) << image.synset;
  }
}

TEST_F(RecordsBuilderTest, BadInputsAreClearErrors) {
  RecordsOptions o = Options("out");
  o.train_directory = Path("missing");
  EXPECT_EQ(BuildRecords(o).status().message(),
            "train directory " + Path("missing") + " is not a directory");

  Write("labels4.txt", "n03\nn01\nn02\nn04\n");
  o = Options("out");
  o.labels_file = Path("labels4.txt");
  EXPECT_EQ(BuildRecords(o).status().message(),
            "labels file " + Path("labels4.txt") + " names synset n04, which has no folder " +
                Path("train/n04"));

  fs::create_directories(root_ / "train" / "n04");
  EXPECT_EQ(BuildRecords(o).status().message(),
            "train directory: synset folder " + Path("train/n04") + " has no files");

  o = Options("out");
  o.imagenet_metadata_file = Path("labels.txt");
  EXPECT_THAT(std::string(BuildRecords(o).status().message()),
              HasSubstr("line 1: expected <synset><TAB><text>"));

  o = Options("out");
  o.labels_file = Path("labels4.txt");
  Write("train/n04/x.JPEG", testing::RgbJpeg(testing::PatternImage(8, 8, 1)));
  Write("out/labels.txt", "n03\nn01\nn02\n");
  EXPECT_THAT(std::string(BuildRecords(o).status().message()),
              HasSubstr("holds a different label mapping"));

  fs::remove_all(root_ / "train" / "n04");
  o = Options("out2");
  o.train_shards = 0;
  EXPECT_EQ(BuildRecords(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options("out2");
  o.array_size = 3;
  o.array_index = 3;
  EXPECT_THAT(std::string(BuildRecords(o).status().message()),
              HasSubstr("array index 3 is outside [0, 3)"));
}

}  // namespace
}  // namespace tessera
