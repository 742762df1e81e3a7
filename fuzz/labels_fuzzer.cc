// tessera_records' label files (tools/image_folders.h): the synset list that
// fixes the labels (--labels_file) and the synset -> text metadata. A labels
// file that parses numbers distinct, well-formed synsets 1..N in file order;
// LabelsFileContents reads back to the same labels.
//
// Input: a byte choosing the parser (bit 0: metadata), then the file.

#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_support.h"
#include "tools/image_folders.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  fuzz::FuzzInput input(data, size);
  const bool metadata = input.Byte() & 1;
  const absl::string_view text = input.Rest();
  if (metadata) {
    absl::StatusOr<std::map<std::string, std::string>> texts =
        ParseSynsetTexts(text, "imagenet_metadata.txt");
    if (!texts.ok()) {
      FUZZ_CHECK(texts.status().code() == absl::StatusCode::kInvalidArgument,
                 texts.status().ToString());
    }
    return 0;
  }
  absl::StatusOr<SynsetLabels> labels = ParseLabelsFile(text, "synsets.txt");
  if (!labels.ok()) {
    FUZZ_CHECK(labels.status().code() == absl::StatusCode::kInvalidArgument,
               labels.status().ToString());
    return 0;
  }
  FUZZ_CHECK(!labels->synsets.empty() && labels->label_of.size() == labels->synsets.size(),
             "labels");
  for (size_t i = 0; i < labels->synsets.size(); ++i) {
    const std::string& synset = labels->synsets[i];
    FUZZ_CHECK(!synset.empty() && synset.find_first_of("/ \t\n") == std::string::npos,
               absl::StrCat("synset \"", synset, "\""));
    FUZZ_CHECK(labels->label_of.at(synset) == static_cast<int64_t>(i) + 1, synset);
  }
  absl::StatusOr<SynsetLabels> again =
      ParseLabelsFile(LabelsFileContents(*labels), "written back");
  FUZZ_CHECK(again.ok() && again->synsets == labels->synsets,
             absl::StrCat("labels do not read back: ", again.status().ToString()));
  return 0;
}
