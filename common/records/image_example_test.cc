#include "common/records/image_example.h"

#include "gtest/gtest.h"
#include "test/tf_example.pb.h"

namespace tessera {
namespace {

ImageExample Sample() {
  ImageExample image;
  image.encoded = std::string("\xff\xd8\xff\xe0 jpeg bytes \0 with nul", 27);
  image.height = 375;
  image.width = 500;
  image.label = 7;
  image.synset = "n01440764";
  image.text = "tench, Tinca tinca";
  image.filename = "n01440764_10026.JPEG";
  image.bbox_xmin = {0.1f, 0.25f};
  image.bbox_ymin = {0.2f, 0.3f};
  image.bbox_xmax = {0.9f, 0.5f};
  image.bbox_ymax = {0.8f, 0.75f};
  image.bbox_label = {7, 7};
  return image;
}

TEST(ImageExampleTest, RoundTripKeepsEveryField) {
  const ImageExample image = Sample();
  absl::StatusOr<ImageExample> back = ParseImageExample(SerializeImageExample(image));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, image);
  EXPECT_EQ(back->format, "JPEG");
  EXPECT_EQ(back->colorspace, "RGB");
  EXPECT_EQ(back->channels, 3);
}

TEST(ImageExampleTest, RoundTripWithoutBoxes) {
  ImageExample image = Sample();
  image.bbox_xmin.clear();
  image.bbox_ymin.clear();
  image.bbox_xmax.clear();
  image.bbox_ymax.clear();
  image.bbox_label.clear();
  absl::StatusOr<ImageExample> back = ParseImageExample(SerializeImageExample(image));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, image);
}

TEST(ImageExampleTest, WritesTensorFlowsKeysAndTypes) {
  const Example example = ToExample(Sample());
  const auto& map = example.features().feature();
  EXPECT_EQ(map.size(), 15u);
  for (const char* key : {"image/encoded", "image/format", "image/colorspace",
                          "image/class/synset", "image/class/text", "image/filename"}) {
    ASSERT_EQ(map.count(key), 1u) << key;
    EXPECT_EQ(map.at(key).kind_case(), Feature::kBytesList) << key;
  }
  for (const char* key : {"image/channels", "image/height", "image/width",
                          "image/class/label", "image/object/bbox/label"}) {
    ASSERT_EQ(map.count(key), 1u) << key;
    EXPECT_EQ(map.at(key).kind_case(), Feature::kInt64List) << key;
  }
  for (const char* key : {"image/object/bbox/xmin", "image/object/bbox/ymin",
                          "image/object/bbox/xmax", "image/object/bbox/ymax"}) {
    ASSERT_EQ(map.count(key), 1u) << key;
    EXPECT_EQ(map.at(key).kind_case(), Feature::kFloatList) << key;
  }
  EXPECT_EQ(map.at("image/format").bytes_list().value(0), "JPEG");
  EXPECT_EQ(map.at("image/class/label").int64_list().value(0), 7);
}

TEST(ImageExampleTest, SerializationIsDeterministic) {
  EXPECT_EQ(SerializeImageExample(Sample()), SerializeImageExample(Sample()));
}

TEST(ImageExampleTest, MissingEncodedIsNamed) {
  Example example = ToExample(Sample());
  example.mutable_features()->mutable_feature()->erase("image/encoded");
  absl::StatusOr<ImageExample> image = FromExample(example);
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(image.status().message(), "missing image/encoded");
}

TEST(ImageExampleTest, MissingLabelIsNamed) {
  Example example = ToExample(Sample());
  example.mutable_features()->mutable_feature()->erase("image/class/label");
  EXPECT_EQ(FromExample(example).status().message(), "missing image/class/label");
}

TEST(ImageExampleTest, WrongTypeIsNamed) {
  Example example = ToExample(Sample());
  (*example.mutable_features()->mutable_feature())["image/height"]
      .mutable_bytes_list()->add_value("375");
  absl::StatusOr<ImageExample> image = FromExample(example);
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(image.status().message(),
            "image/height is a bytes_list, expected an int64_list");
}

TEST(ImageExampleTest, SeveralValuesForASingleKeyIsAnError) {
  Example example = ToExample(Sample());
  (*example.mutable_features()->mutable_feature())["image/class/label"]
      .mutable_int64_list()->add_value(8);
  EXPECT_EQ(FromExample(example).status().message(),
            "image/class/label has 2 values, expected exactly 1");
}

TEST(ImageExampleTest, BoxListsOfDifferentLengthsAreAnError) {
  ImageExample image = Sample();
  image.bbox_ymax.pop_back();
  absl::StatusOr<ImageExample> back = ParseImageExample(SerializeImageExample(image));
  EXPECT_EQ(back.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(back.status().message().find("ymax 1"), absl::string_view::npos)
      << back.status();
}

TEST(ImageExampleTest, GarbageIsNotAnExample) {
  absl::StatusOr<ImageExample> image = ParseImageExample("\xff\xff\xff not a proto");
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(image.status().message().find("not a tf.train.Example"),
            absl::string_view::npos);
}

TEST(ImageExampleTest, LabelRange) {
  ImageExample image = Sample();
  EXPECT_TRUE(CheckLabelInRange(image, 7).ok());
  EXPECT_EQ(CheckLabelInRange(image, 6).code(), absl::StatusCode::kOutOfRange);
  image.label = 0;
  EXPECT_EQ(CheckLabelInRange(image, 1000).message(),
            "image/class/label 0 is outside [1, 1000]");
}

// Records from TensorFlow's own schema (an independent writer) read the same.
TEST(ImageExampleInteropTest, TensorFlowRecordReadsIdentically) {
  tensorflow::Example tf;
  auto& map = *tf.mutable_features()->mutable_feature();
  const ImageExample want = Sample();
  map["image/encoded"].mutable_bytes_list()->add_value(want.encoded);
  map["image/format"].mutable_bytes_list()->add_value("JPEG");
  map["image/colorspace"].mutable_bytes_list()->add_value("RGB");
  map["image/channels"].mutable_int64_list()->add_value(3);
  map["image/height"].mutable_int64_list()->add_value(375);
  map["image/width"].mutable_int64_list()->add_value(500);
  map["image/class/label"].mutable_int64_list()->add_value(7);
  map["image/class/synset"].mutable_bytes_list()->add_value(want.synset);
  map["image/class/text"].mutable_bytes_list()->add_value(want.text);
  map["image/filename"].mutable_bytes_list()->add_value(want.filename);
  for (float v : want.bbox_xmin) map["image/object/bbox/xmin"].mutable_float_list()->add_value(v);
  for (float v : want.bbox_ymin) map["image/object/bbox/ymin"].mutable_float_list()->add_value(v);
  for (float v : want.bbox_xmax) map["image/object/bbox/xmax"].mutable_float_list()->add_value(v);
  for (float v : want.bbox_ymax) map["image/object/bbox/ymax"].mutable_float_list()->add_value(v);
  map["image/object/bbox/label"].mutable_int64_list()->add_value(7);
  map["image/object/bbox/label"].mutable_int64_list()->add_value(7);
  absl::StatusOr<ImageExample> got = ParseImageExample(tf.SerializeAsString());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, want);
}

// Our records parse with TensorFlow's schema to the same features, and
// re-serializing TF's parse gives back what we read.
TEST(ImageExampleInteropTest, OurRecordReadsIdenticallyInTensorFlow) {
  const std::string ours = SerializeImageExample(Sample());
  tensorflow::Example tf;
  ASSERT_TRUE(tf.ParseFromString(ours));
  const auto& map = tf.features().feature();
  EXPECT_EQ(map.size(), 15u);
  EXPECT_EQ(map.at("image/encoded").bytes_list().value(0), Sample().encoded);
  EXPECT_EQ(map.at("image/class/label").int64_list().value(0), 7);
  EXPECT_EQ(map.at("image/object/bbox/xmax").float_list().value_size(), 2);
  EXPECT_FLOAT_EQ(map.at("image/object/bbox/xmax").float_list().value(1), 0.5f);
  EXPECT_EQ(map.at("image/class/text").bytes_list().value(0), "tench, Tinca tinca");
  absl::StatusOr<ImageExample> again = ParseImageExample(tf.SerializeAsString());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, Sample());
}

}  // namespace
}  // namespace tessera
