#include "data/image_example_decoder.h"

#include <random>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/records/image_example.h"
#include "common/status_macros.h"

namespace tessera {

absl::StatusOr<std::unique_ptr<ImageExampleDecoder>> ImageExampleDecoder::Create(
    const ImageExampleDecoderOptions& options) {
  if (options.num_classes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("image decoder: num_classes must be >= 1, got ", options.num_classes));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ImageAugmenter> augmenter,
                   ImageAugmenter::Create(options.augment));
  return std::unique_ptr<ImageExampleDecoder>(
      new ImageExampleDecoder(options, std::move(augmenter)));
}

absl::Status ImageExampleDecoder::Decode(absl::string_view record, uint64_t seed,
                                         absl::Span<float> input, int32_t* label) {
  if (static_cast<int64_t>(input.size()) != example_size()) {
    return absl::InvalidArgumentError(absl::StrCat("image decoder: room for ", input.size(),
                                                   " floats, an example has ", example_size()));
  }
  absl::StatusOr<ImageExample> image = ParseImageExample(record);
  if (!image.ok()) return Annotate(image.status(), "record");
  const std::string name = image->filename.empty() ? "record" : image->filename;
  const int64_t index = image->label - options_.label_offset;
  if (index < 0 || index >= options_.num_classes) {
    return absl::OutOfRangeError(absl::StrCat(
        name, ": image/class/label ", image->label, " is outside [", options_.label_offset, ", ",
        options_.label_offset + options_.num_classes - 1, "] (", options_.num_classes,
        " classes, labels from ", options_.label_offset, ")"));
  }
  if (options_.training) {
    boxes_.clear();
    for (size_t i = 0; i < image->bbox_xmin.size(); ++i) {
      boxes_.push_back(
          {image->bbox_ymin[i], image->bbox_xmin[i], image->bbox_ymax[i], image->bbox_xmax[i]});
    }
    std::mt19937_64 rng(seed);
    RETURN_IF_ERROR(augmenter_->Train(image->encoded, name, boxes_, &rng, input.data()));
  } else {
    RETURN_IF_ERROR(augmenter_->Eval(image->encoded, name, input.data()));
  }
  *label = static_cast<int32_t>(index);
  return absl::OkStatus();
}

}  // namespace tessera
