#ifndef TESSERA_TOOLS_IMAGE_FOLDERS_H_
#define TESSERA_TOOLS_IMAGE_FOLDERS_H_

// The inputs of tessera_records in ImageNet's layout: a folder per synset
// (<dir>/<synset>/<file>), the synset list that fixes the labels, and the
// synset -> text metadata, as TensorFlow's build_imagenet_data.py reads them,
// with the label order never depending on directory listing order.
// Free functions; thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// Synsets in label order: synsets[i] has label i + 1 (0 is background, as TF).
struct SynsetLabels {
  std::vector<std::string> synsets;
  std::map<std::string, int64_t> label_of;
  std::string source;  // "labels file <path>" or "subfolders of <dir>", for messages
};

// One synset per line (TF's imagenet_lsvrc_2015_synsets.txt), surrounding
// whitespace ignored, blank lines only at the end. INVALID_ARGUMENT naming the
// file and line for a blank line inside the list, a name with a '/' or
// whitespace inside, or a duplicate; NOT_FOUND when the file is missing.
absl::StatusOr<SynsetLabels> ReadLabelsFile(const std::string& path);
// The same checks on the file's contents `text`; `path` names it in messages.
absl::StatusOr<SynsetLabels> ParseLabelsFile(absl::string_view text, absl::string_view path);

// The sorted names of the subfolders of `dir` (byte order). NOT_FOUND when
// `dir` is not a directory; INVALID_ARGUMENT when it has no subfolder.
absl::StatusOr<SynsetLabels> LabelsFromSubfolders(const std::string& dir);

// What LabelsFromSubfolders / ReadLabelsFile read back: one synset per line.
std::string LabelsFileContents(const SynsetLabels& labels);

// TF's imagenet_metadata.txt: "<synset>\t<text>" per line. INVALID_ARGUMENT
// naming the file and line for a line without a tab.
absl::StatusOr<std::map<std::string, std::string>> ReadSynsetTexts(const std::string& path);
// The same on the file's contents `text`; `path` names it in messages.
absl::StatusOr<std::map<std::string, std::string>> ParseSynsetTexts(absl::string_view text,
                                                                    absl::string_view path);

struct ImageFile {
  std::string path;      // <dir>/<synset>/<filename>
  std::string filename;  // base name, for image/filename and box lookup
  std::string synset;
  int64_t label = 0;
};

// Every regular file of <dir>/<synset>/ for the synsets of `labels`, sorted
// by (label, filename). Errors (naming the folder): `dir` missing
// (NOT_FOUND); a subfolder that is not a synset of `labels`, or an existing
// synset folder with no files (INVALID_ARGUMENT); with
// `every_synset_has_a_folder`, a synset of `labels` with no folder
// (INVALID_ARGUMENT: the labels file names an unknown synset).
// `split` ("train", "validation") goes into messages.
absl::StatusOr<std::vector<ImageFile>> ListImages(const std::string& dir,
                                                  const SynsetLabels& labels,
                                                  bool every_synset_has_a_folder,
                                                  absl::string_view split);

// Shuffles `images` in an order that depends only on `seed` and the list
// (a Fisher-Yates shuffle driven by std::mt19937_64, whose output the C++
// standard fixes), so the same input gives the same order on every machine.
void ShuffleImages(uint64_t seed, std::vector<ImageFile>* images);

}  // namespace tessera

#endif  // TESSERA_TOOLS_IMAGE_FOLDERS_H_
