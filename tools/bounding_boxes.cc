#include "tools/bounding_boxes.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

float Clamp01(float v) { return std::min(std::max(v, 0.0f), 1.0f); }

// Clamps to [0, 1] and orders min <= max.
BoundingBox Normalized(float xmin, float ymin, float xmax, float ymax) {
  BoundingBox box{Clamp01(xmin), Clamp01(ymin), Clamp01(xmax), Clamp01(ymax)};
  if (box.xmin > box.xmax) std::swap(box.xmin, box.xmax);
  if (box.ymin > box.ymax) std::swap(box.ymin, box.ymax);
  return box;
}

// The text between <tag> and </tag> at or after `*pos`; advances `*pos` past
// it. Returns false when there is none.
bool NextElement(absl::string_view text, absl::string_view tag, size_t* pos,
                 absl::string_view* content) {
  const std::string open = absl::StrCat("<", tag, ">");
  const std::string close = absl::StrCat("</", tag, ">");
  const size_t begin = text.find(open, *pos);
  if (begin == absl::string_view::npos) return false;
  const size_t end = text.find(close, begin + open.size());
  if (end == absl::string_view::npos) return false;
  *content = text.substr(begin + open.size(), end - begin - open.size());
  *pos = end + close.size();
  return true;
}

absl::StatusOr<float> NumberIn(absl::string_view text, absl::string_view tag,
                               absl::string_view name) {
  size_t pos = 0;
  absl::string_view content;
  float value = 0;
  if (!NextElement(text, tag, &pos, &content)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": no <", tag, ">"));
  }
  // SimpleAtof also reads "nan" and "inf": a NaN coordinate would survive
  // Normalized() and stop training on the record (the crop sampler refuses it).
  if (!absl::SimpleAtof(absl::StripAsciiWhitespace(content), &value) || !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": <", tag, "> \"", content, "\" is not a number"));
  }
  return value;
}

absl::Status AddXmlFile(const fs::path& path, BoxIndex* index) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path.string(), "bounding box file"));
  ASSIGN_OR_RETURN(std::vector<BoundingBox> boxes, ParseBoxXml(text, path.string()));
  std::vector<BoundingBox>& dest = (*index)[path.stem().string()];
  dest.insert(dest.end(), boxes.begin(), boxes.end());
  return absl::OkStatus();
}

}  // namespace

std::string ImageStem(absl::string_view filename) {
  const size_t dot = filename.rfind('.');
  return std::string(dot == absl::string_view::npos ? filename : filename.substr(0, dot));
}

absl::StatusOr<BoxIndex> ParseBoxCsv(absl::string_view text, absl::string_view name) {
  BoxIndex index;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    const std::string where = absl::StrCat(name, " line ", line_number);
    if (fields.size() != 5) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": expected <filename>,<xmin>,<ymin>,<xmax>,<ymax>, got ", fields.size(),
          " fields"));
    }
    float v[4];
    for (int i = 0; i < 4; ++i) {
      // !(0 <= v <= 1) refuses NaN too ("nan" parses).
      if (!absl::SimpleAtof(absl::StripAsciiWhitespace(fields[i + 1]), &v[i]) ||
          !(v[i] >= 0 && v[i] <= 1)) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": \"", fields[i + 1], "\" is not a number in [0, 1] (the CSV holds ",
            "normalized coordinates)"));
      }
    }
    index[ImageStem(absl::StripAsciiWhitespace(fields[0]))].push_back(
        Normalized(v[0], v[1], v[2], v[3]));
  }
  return index;
}

absl::StatusOr<std::vector<BoundingBox>> ParseBoxXml(absl::string_view text,
                                                     absl::string_view name) {
  size_t pos = 0;
  absl::string_view size;
  if (!NextElement(text, "size", &pos, &size)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": no <size>"));
  }
  ASSIGN_OR_RETURN(float width, NumberIn(size, "width", name));
  ASSIGN_OR_RETURN(float height, NumberIn(size, "height", name));
  if (width <= 0 || height <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": image size ", width, "x", height, " is not positive"));
  }
  std::vector<BoundingBox> boxes;
  pos = 0;
  absl::string_view box;
  while (NextElement(text, "bndbox", &pos, &box)) {
    ASSIGN_OR_RETURN(float xmin, NumberIn(box, "xmin", name));
    ASSIGN_OR_RETURN(float ymin, NumberIn(box, "ymin", name));
    ASSIGN_OR_RETURN(float xmax, NumberIn(box, "xmax", name));
    ASSIGN_OR_RETURN(float ymax, NumberIn(box, "ymax", name));
    boxes.push_back(Normalized(xmin / width, ymin / height, xmax / width, ymax / height));
  }
  return boxes;
}

absl::StatusOr<BoxIndex> ReadBoundingBoxes(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    return absl::NotFoundError(absl::StrCat("bounding box file ", path, " does not exist"));
  }
  BoxIndex index;
  if (fs::is_directory(path, error)) {
    std::vector<fs::path> files;
    for (fs::recursive_directory_iterator it(path, error), end; !error && it != end;
         it.increment(error)) {
      if (it->path().extension() == ".xml") files.push_back(it->path());
    }
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot list bounding box directory ", path, ": ", error.message()));
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) RETURN_IF_ERROR(AddXmlFile(file, &index));
    return index;
  }
  if (absl::EndsWith(path, ".xml")) {
    RETURN_IF_ERROR(AddXmlFile(path, &index));
    return index;
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, "bounding box file"));
  return ParseBoxCsv(text, path);
}

}  // namespace tessera
