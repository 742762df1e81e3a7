#include "tools/bounding_boxes.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tools/test_dir.h"

namespace tessera {
namespace {

constexpr char kXml[] = R"(<annotation>
  <folder>n01440764</folder><filename>n01440764_10026</filename>
  <size><width>500</width><height>400</height><depth>3</depth></size>
  <object><name>n01440764</name><bndbox>
    <xmin>50</xmin><ymin>100</ymin><xmax>450</xmax><ymax>300</ymax></bndbox></object>
  <object><name>n01440764</name><bndbox>
    <xmin>600</xmin><ymin>40</ymin><xmax>-5</xmax><ymax>0</ymax></bndbox></object>
</annotation>)";

TEST(BoundingBoxesTest, StemDropsTheExtension) {
  EXPECT_EQ(ImageStem("n01440764_10026.JPEG"), "n01440764_10026");
  EXPECT_EQ(ImageStem("ILSVRC2012_val_00000001"), "ILSVRC2012_val_00000001");
}

TEST(BoundingBoxesTest, XmlIsNormalizedClampedAndOrdered) {
  absl::StatusOr<std::vector<BoundingBox>> boxes = ParseBoxXml(kXml, "a.xml");
  ASSERT_TRUE(boxes.ok()) << boxes.status();
  ASSERT_EQ(boxes->size(), 2u);
  EXPECT_FLOAT_EQ((*boxes)[0].xmin, 0.1f);
  EXPECT_FLOAT_EQ((*boxes)[0].ymin, 0.25f);
  EXPECT_FLOAT_EQ((*boxes)[0].xmax, 0.9f);
  EXPECT_FLOAT_EQ((*boxes)[0].ymax, 0.75f);
  EXPECT_FLOAT_EQ((*boxes)[1].xmin, 0.0f);  // -5 clamped, then swapped with 600 -> 1
  EXPECT_FLOAT_EQ((*boxes)[1].xmax, 1.0f);
  EXPECT_FLOAT_EQ((*boxes)[1].ymin, 0.0f);
  EXPECT_FLOAT_EQ((*boxes)[1].ymax, 0.1f);
}

TEST(BoundingBoxesTest, XmlErrorsNameTheFile) {
  EXPECT_EQ(ParseBoxXml("<annotation></annotation>", "b.xml").status().message(),
            "b.xml: no <size>");
  EXPECT_EQ(ParseBoxXml("<size><width>5</width><height>5</height></size>"
                        "<bndbox><xmin>a</xmin></bndbox>",
                        "c.xml")
                .status()
                .message(),
            "c.xml: <xmin> \"a\" is not a number");
}

TEST(BoundingBoxesTest, CsvOfProcessBoundingBoxes) {
  absl::StatusOr<BoxIndex> index = ParseBoxCsv(
      "n01_1.JPEG,0.1,0.2,0.3,0.4\nn01_1.JPEG,0.5,0.5,0.6,0.7\nval_1.JPEG,0,0,1,1\n", "b.csv");
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ(index->at("n01_1").size(), 2u);
  EXPECT_FLOAT_EQ(index->at("n01_1")[1].ymax, 0.7f);
  EXPECT_EQ(index->at("val_1").size(), 1u);
  EXPECT_EQ(ParseBoxCsv("a.JPEG,0.1,0.2\n", "b.csv").status().message(),
            "b.csv line 1: expected <filename>,<xmin>,<ymin>,<xmax>,<ymax>, got 3 fields");
  EXPECT_EQ(ParseBoxCsv("\na.JPEG,0.1,0.2,3,0.4\n", "b.csv").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Found by fuzz/bounding_boxes_fuzzer (fuzz/regressions/bounding_boxes_fuzzer/):
// SimpleAtof reads "nan", and NaN passed both range checks, so a NaN box went
// into the shards, where the crop sampler refuses it at training time.
TEST(BoundingBoxesTest, NanAndInfinityAreNotCoordinates) {
  EXPECT_EQ(ParseBoxCsv("n01443d37_2^JPEG,nan,0.2,0.9,0.8\n", "b.csv").status().message(),
            "b.csv line 1: \"nan\" is not a number in [0, 1] (the CSV holds normalized "
            "coordinates)");
  EXPECT_EQ(ParseBoxCsv("a.JPEG,0.1,0.2,0.3,-nan\n", "b.csv").status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string size = "<size><width>500</width><height>400</height></size>";
  EXPECT_EQ(ParseBoxXml(size + "<bndbox><xmin>nan</xmin><ymin>1</ymin><xmax>2</xmax>"
                               "<ymax>3</ymax></bndbox>",
                        "c.xml")
                .status()
                .message(),
            "c.xml: <xmin> \"nan\" is not a number");
  EXPECT_EQ(ParseBoxXml(size + "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>inf</xmax>"
                               "<ymax>3</ymax></bndbox>",
                        "c.xml")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseBoxXml("<size><width>nan</width><height>400</height></size>", "d.xml")
                .status()
                .message(),
            "d.xml: <width> \"nan\" is not a number");
}

TEST(BoundingBoxesTest, DirectoryOfXmlIsSearchedRecursively) {
  namespace fs = std::filesystem;
  const fs::path root = FreshTestDir();
  fs::create_directories(root / "n01440764");
  std::ofstream(root / "n01440764" / "n01440764_10026.xml") << kXml;
  std::ofstream(root / "ILSVRC2012_val_00000001.xml") << kXml;
  std::ofstream(root / "README") << "not xml";
  absl::StatusOr<BoxIndex> index = ReadBoundingBoxes(root.string());
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->size(), 2u);
  EXPECT_EQ(index->at("n01440764_10026").size(), 2u);
  EXPECT_EQ(index->at("ILSVRC2012_val_00000001").size(), 2u);
  EXPECT_EQ(ReadBoundingBoxes((root / "missing").string()).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tessera
