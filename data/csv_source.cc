#include "data/csv_source.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tessera {

absl::StatusOr<Dataset> ParseCsv(absl::string_view text, absl::string_view source_name,
                                 const CsvOptions& options) {
  if (options.num_outputs < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        source_name, ": num_outputs must be >= 1, got ", options.num_outputs));
  }
  std::vector<float> x, y;
  int64_t fields_per_line = -1;
  int first_line = 0;
  bool header_pending = options.has_header;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (header_pending) {
      header_pending = false;
      continue;
    }
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    const int64_t count = static_cast<int64_t>(fields.size());
    if (fields_per_line < 0) {
      if (count < options.num_outputs + 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            source_name, ":", line_number, ": ", count, " fields, need at least ",
            options.num_outputs + 1, " (inputs, then ", options.num_outputs, " target",
            options.num_outputs == 1 ? "" : "s", ")"));
      }
      fields_per_line = count;
      first_line = line_number;
    } else if (count != fields_per_line) {
      return absl::InvalidArgumentError(absl::StrCat(source_name, ":", line_number, ": ",
                                                     count, " fields, expected ",
                                                     fields_per_line, " as on line ",
                                                     first_line));
    }
    for (int64_t i = 0; i < count; ++i) {
      float value;
      if (!absl::SimpleAtof(absl::StripAsciiWhitespace(fields[i]), &value) ||
          !std::isfinite(value)) {
        return absl::InvalidArgumentError(absl::StrCat(source_name, ":", line_number,
                                                       ": field ", i + 1, " \"", fields[i],
                                                       "\" is not a finite number"));
      }
      (i < count - options.num_outputs ? x : y).push_back(value);
    }
  }
  if (fields_per_line < 0) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": no examples"));
  }
  const int64_t n = static_cast<int64_t>(y.size()) / options.num_outputs;
  Dataset dataset;
  dataset.inputs = Tensor({n, fields_per_line - options.num_outputs}, std::move(x));
  dataset.targets = Tensor({n, options.num_outputs}, std::move(y));
  return dataset;
}

absl::StatusOr<Dataset> ReadCsvFile(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read error: ", std::strerror(errno)));
  }
  return ParseCsv(text.str(), path, options);
}

absl::StatusOr<Dataset> DatasetFromValues(absl::Span<const float> x,
                                          absl::Span<const float> y, int num_features,
                                          absl::string_view what) {
  if (num_features < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": num_features must be >= 1, got ", num_features));
  }
  if (x.empty() || x.size() % num_features != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": x has ", x.size(), " values, want a positive multiple of num_features = ",
        num_features));
  }
  const int64_t n = static_cast<int64_t>(x.size()) / num_features;
  if (y.empty() || y.size() % n != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": y has ", y.size(), " values, want a positive multiple of the ", n,
        " examples in x"));
  }
  const int64_t outputs = static_cast<int64_t>(y.size()) / n;
  Dataset dataset;
  dataset.inputs = Tensor({n, num_features}, std::vector<float>(x.begin(), x.end()));
  dataset.targets = Tensor({n, outputs}, std::vector<float>(y.begin(), y.end()));
  return dataset;
}

}  // namespace tessera
