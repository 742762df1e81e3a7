#include "tools/image_folders.h"

#include <algorithm>
#include <filesystem>
#include <random>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;

bool IsDirectory(const std::string& path) {
  std::error_code error;
  return fs::is_directory(path, error);
}

// The names of the entries of `dir` that are directories (want_dirs) or
// regular files, sorted. `what` describes `dir` in messages.
absl::StatusOr<std::vector<std::string>> ListEntries(const std::string& dir, bool want_dirs,
                                                     absl::string_view what) {
  if (!IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat(what, " ", dir, " is not a directory"));
  }
  std::error_code error;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    std::error_code type_error;
    const bool is_dir = it->is_directory(type_error);
    const bool is_file = it->is_regular_file(type_error);
    if ((want_dirs && is_dir) || (!want_dirs && is_file)) {
      names.push_back(it->path().filename().string());
    }
  }
  if (error) {
    return absl::Status(absl::ErrnoToStatusCode(error.value()),
                        absl::StrCat("cannot list ", what, " ", dir, ": ", error.message()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status AddSynset(SynsetLabels& labels, std::string synset, absl::string_view where) {
  if (synset.find_first_of("/ \t") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": \"", synset, "\" is not a synset name"));
  }
  if (labels.label_of.count(synset) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": synset ", synset,
                                                   " is listed twice (first as label ",
                                                   labels.label_of[synset], ")"));
  }
  labels.synsets.push_back(synset);
  labels.label_of[std::move(synset)] = static_cast<int64_t>(labels.synsets.size());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SynsetLabels> ParseLabelsFile(absl::string_view text, absl::string_view path) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  while (!lines.empty() && absl::StripAsciiWhitespace(lines.back()).empty()) lines.pop_back();
  SynsetLabels labels;
  labels.source = absl::StrCat("labels file ", path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = absl::StrCat("labels file ", path, " line ", i + 1);
    std::string synset(absl::StripAsciiWhitespace(lines[i]));
    if (synset.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty line"));
    RETURN_IF_ERROR(AddSynset(labels, std::move(synset), where));
  }
  if (labels.synsets.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("labels file ", path, " lists no synset"));
  }
  return labels;
}

absl::StatusOr<SynsetLabels> ReadLabelsFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, "labels file"));
  return ParseLabelsFile(text, path);
}

absl::StatusOr<SynsetLabels> LabelsFromSubfolders(const std::string& dir) {
  ASSIGN_OR_RETURN(std::vector<std::string> names,
                   ListEntries(dir, /*want_dirs=*/true, "train directory"));
  if (names.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("train directory ", dir, " has no synset subfolders"));
  }
  SynsetLabels labels;
  labels.source = absl::StrCat("subfolders of ", dir);
  for (std::string& name : names) {
    RETURN_IF_ERROR(AddSynset(labels, std::move(name), labels.source));
  }
  return labels;
}

std::string LabelsFileContents(const SynsetLabels& labels) {
  std::string out;
  for (const std::string& synset : labels.synsets) absl::StrAppend(&out, synset, "\n");
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> ParseSynsetTexts(absl::string_view text,
                                                                    absl::string_view path) {
  std::map<std::string, std::string> texts;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("imagenet metadata file ", path, " line ",
                                                     line_number,
                                                     ": expected <synset><TAB><text>"));
    }
    texts[std::string(absl::StripAsciiWhitespace(line.substr(0, tab)))] =
        std::string(absl::StripAsciiWhitespace(line.substr(tab + 1)));
  }
  return texts;
}

absl::StatusOr<std::map<std::string, std::string>> ReadSynsetTexts(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, "imagenet metadata file"));
  return ParseSynsetTexts(text, path);
}

absl::StatusOr<std::vector<ImageFile>> ListImages(const std::string& dir,
                                                  const SynsetLabels& labels,
                                                  bool every_synset_has_a_folder,
                                                  absl::string_view split) {
  const std::string what = absl::StrCat(split, " directory");
  ASSIGN_OR_RETURN(std::vector<std::string> folders, ListEntries(dir, true, what));
  for (const std::string& folder : folders) {
    if (labels.label_of.count(folder) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(what, " ", dir, ": folder ", folder,
                                                     " is not a synset of the ",
                                                     labels.source));
    }
  }
  std::vector<ImageFile> images;
  for (const std::string& synset : labels.synsets) {
    const std::string folder = JoinPath(dir, synset);
    if (!std::binary_search(folders.begin(), folders.end(), synset)) {
      if (!every_synset_has_a_folder) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          labels.source, " names synset ", synset, ", which has no folder ", folder));
    }
    ASSIGN_OR_RETURN(std::vector<std::string> files, ListEntries(folder, false, what));
    if (files.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": synset folder ", folder, " has no files"));
    }
    for (std::string& file : files) {
      ImageFile image;
      image.path = JoinPath(folder, file);
      image.filename = std::move(file);
      image.synset = synset;
      image.label = labels.label_of.at(synset);
      images.push_back(std::move(image));
    }
  }
  if (images.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", dir, " holds no images"));
  }
  return images;
}

void ShuffleImages(uint64_t seed, std::vector<ImageFile>* images) {
  std::mt19937_64 random(seed);
  for (size_t i = images->size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(random() % i);
    std::swap((*images)[i - 1], (*images)[j]);
  }
}

}  // namespace tessera
