#include "common/records/image_example.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace tessera {
namespace {

constexpr char kEncoded[] = "image/encoded";
constexpr char kFormat[] = "image/format";
constexpr char kColorspace[] = "image/colorspace";
constexpr char kChannels[] = "image/channels";
constexpr char kHeight[] = "image/height";
constexpr char kWidth[] = "image/width";
constexpr char kLabel[] = "image/class/label";
constexpr char kSynset[] = "image/class/synset";
constexpr char kText[] = "image/class/text";
constexpr char kFilename[] = "image/filename";
constexpr char kXmin[] = "image/object/bbox/xmin";
constexpr char kYmin[] = "image/object/bbox/ymin";
constexpr char kXmax[] = "image/object/bbox/xmax";
constexpr char kYmax[] = "image/object/bbox/ymax";
constexpr char kBoxLabel[] = "image/object/bbox/label";

using FeatureMap = google::protobuf::Map<std::string, Feature>;

void SetBytes(FeatureMap& map, const char* key, const std::string& value) {
  map[key].mutable_bytes_list()->add_value(value);
}

void SetInt64s(FeatureMap& map, const char* key, const std::vector<int64_t>& values) {
  auto* list = map[key].mutable_int64_list();
  for (int64_t v : values) list->add_value(v);
}

void SetFloats(FeatureMap& map, const char* key, const std::vector<float>& values) {
  auto* list = map[key].mutable_float_list();
  for (float v : values) list->add_value(v);
}

const char* KindName(Feature::KindCase kind) {
  switch (kind) {
    case Feature::kBytesList: return "a bytes_list";
    case Feature::kFloatList: return "a float_list";
    case Feature::kInt64List: return "an int64_list";
    default: return "empty";
  }
}

// The feature `key` if present with `kind`; nullptr if absent; an error if
// present with another kind. A feature with no kind set counts as absent.
absl::StatusOr<const Feature*> Find(const FeatureMap& map, const char* key,
                                    Feature::KindCase kind) {
  auto it = map.find(key);
  if (it == map.end() || it->second.kind_case() == Feature::KIND_NOT_SET) return nullptr;
  if (it->second.kind_case() != kind) {
    return absl::InvalidArgumentError(absl::StrCat(key, " is ", KindName(it->second.kind_case()),
                                                   ", expected ", KindName(kind)));
  }
  return &it->second;
}

// The only value of the `kind` list `key` into *out when present. `values`
// gives the list's repeated field of a Feature of that kind.
template <typename T, typename Values>
absl::Status GetSingle(const FeatureMap& map, const char* key, Feature::KindCase kind,
                       bool required, Values values, T* out) {
  ASSIGN_OR_RETURN(const Feature* f, Find(map, key, kind));
  if (f == nullptr) {
    return required ? absl::InvalidArgumentError(absl::StrCat("missing ", key))
                    : absl::OkStatus();
  }
  const auto& list = values(*f);
  if (list.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, " has ", list.size(), " values, expected exactly 1"));
  }
  *out = list.Get(0);
  return absl::OkStatus();
}

absl::Status GetBytes(const FeatureMap& map, const char* key, bool required,
                      std::string* out) {
  return GetSingle(map, key, Feature::kBytesList, required,
                   [](const Feature& f) -> const auto& { return f.bytes_list().value(); }, out);
}

absl::Status GetInt64(const FeatureMap& map, const char* key, bool required, int64_t* out) {
  return GetSingle(map, key, Feature::kInt64List, required,
                   [](const Feature& f) -> const auto& { return f.int64_list().value(); }, out);
}

absl::Status GetFloats(const FeatureMap& map, const char* key, std::vector<float>* out) {
  ASSIGN_OR_RETURN(const Feature* f, Find(map, key, Feature::kFloatList));
  if (f != nullptr) out->assign(f->float_list().value().begin(), f->float_list().value().end());
  return absl::OkStatus();
}

}  // namespace

bool ImageExample::operator==(const ImageExample& o) const {
  return encoded == o.encoded && format == o.format && colorspace == o.colorspace &&
         channels == o.channels && height == o.height && width == o.width &&
         label == o.label && synset == o.synset && text == o.text &&
         filename == o.filename && bbox_xmin == o.bbox_xmin && bbox_ymin == o.bbox_ymin &&
         bbox_xmax == o.bbox_xmax && bbox_ymax == o.bbox_ymax && bbox_label == o.bbox_label;
}

Example ToExample(const ImageExample& image) {
  Example example;
  FeatureMap& map = *example.mutable_features()->mutable_feature();
  SetInt64s(map, kHeight, {image.height});
  SetInt64s(map, kWidth, {image.width});
  SetBytes(map, kColorspace, image.colorspace);
  SetInt64s(map, kChannels, {image.channels});
  SetInt64s(map, kLabel, {image.label});
  SetBytes(map, kSynset, image.synset);
  SetBytes(map, kText, image.text);
  SetFloats(map, kXmin, image.bbox_xmin);
  SetFloats(map, kYmin, image.bbox_ymin);
  SetFloats(map, kXmax, image.bbox_xmax);
  SetFloats(map, kYmax, image.bbox_ymax);
  SetInt64s(map, kBoxLabel, image.bbox_label);
  SetBytes(map, kFormat, image.format);
  SetBytes(map, kFilename, image.filename);
  SetBytes(map, kEncoded, image.encoded);
  return example;
}

std::string SerializeImageExample(const ImageExample& image) {
  const Example example = ToExample(image);
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    example.SerializeToCodedStream(&coded);
  }
  return out;
}

absl::StatusOr<ImageExample> FromExample(const Example& example) {
  const FeatureMap& map = example.features().feature();
  ImageExample image;
  RETURN_IF_ERROR(GetBytes(map, kEncoded, /*required=*/true, &image.encoded));
  RETURN_IF_ERROR(GetInt64(map, kLabel, /*required=*/true, &image.label));
  RETURN_IF_ERROR(GetBytes(map, kFormat, false, &image.format));
  RETURN_IF_ERROR(GetBytes(map, kColorspace, false, &image.colorspace));
  RETURN_IF_ERROR(GetInt64(map, kChannels, false, &image.channels));
  RETURN_IF_ERROR(GetInt64(map, kHeight, false, &image.height));
  RETURN_IF_ERROR(GetInt64(map, kWidth, false, &image.width));
  RETURN_IF_ERROR(GetBytes(map, kSynset, false, &image.synset));
  RETURN_IF_ERROR(GetBytes(map, kText, false, &image.text));
  RETURN_IF_ERROR(GetBytes(map, kFilename, false, &image.filename));
  RETURN_IF_ERROR(GetFloats(map, kXmin, &image.bbox_xmin));
  RETURN_IF_ERROR(GetFloats(map, kYmin, &image.bbox_ymin));
  RETURN_IF_ERROR(GetFloats(map, kXmax, &image.bbox_xmax));
  RETURN_IF_ERROR(GetFloats(map, kYmax, &image.bbox_ymax));
  ASSIGN_OR_RETURN(const Feature* box_labels, Find(map, kBoxLabel, Feature::kInt64List));
  if (box_labels != nullptr) {
    image.bbox_label.assign(box_labels->int64_list().value().begin(),
                            box_labels->int64_list().value().end());
  }
  const size_t boxes = image.bbox_xmin.size();
  if (image.bbox_ymin.size() != boxes || image.bbox_xmax.size() != boxes ||
      image.bbox_ymax.size() != boxes ||
      (!image.bbox_label.empty() && image.bbox_label.size() != boxes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image/object/bbox/* lists differ in length: xmin ", boxes, ", ymin ",
        image.bbox_ymin.size(), ", xmax ", image.bbox_xmax.size(), ", ymax ",
        image.bbox_ymax.size(), ", label ", image.bbox_label.size()));
  }
  return image;
}

absl::StatusOr<ImageExample> ParseImageExample(absl::string_view record) {
  Example example;
  if (!example.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("record of ", record.size(), " bytes is not a tf.train.Example"));
  }
  // The image's bytes (tens of KB) are moved out of the parsed message, not
  // copied: FromExample copies the (then empty) string and checks the rest.
  std::string encoded;
  auto& map = *example.mutable_features()->mutable_feature();
  auto it = map.find(kEncoded);
  const bool move = it != map.end() && it->second.has_bytes_list() &&
                    it->second.bytes_list().value_size() == 1;
  if (move) encoded.swap(*it->second.mutable_bytes_list()->mutable_value(0));
  absl::StatusOr<ImageExample> image = FromExample(example);
  if (image.ok() && move) image->encoded.swap(encoded);
  return image;
}

absl::Status CheckLabelInRange(const ImageExample& image, int64_t num_classes) {
  if (image.label >= 1 && image.label <= num_classes) return absl::OkStatus();
  return absl::OutOfRangeError(absl::StrCat("image/class/label ", image.label,
                                            " is outside [1, ", num_classes, "]"));
}

}  // namespace tessera
