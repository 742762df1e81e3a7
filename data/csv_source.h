#ifndef TESSERA_DATA_CSV_SOURCE_H_
#define TESSERA_DATA_CSV_SOURCE_H_

// Small regression datasets from comma-separated text or from values written
// in a config. One example per line, "x1,...,xF,y1,...,yO": the last
// `num_outputs` fields are targets, the rest inputs. Blank lines and lines
// starting with '#' are skipped. Stateless and thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/dataset.h"

namespace tessera {

struct CsvOptions {
  int num_outputs = 1;      // >= 1
  bool has_header = false;  // skip the first non-comment line
};

// Parses `text`; errors (INVALID_ARGUMENT) name `source_name` and the line,
// e.g. "points.csv:3: field 2 \"abc\" is not a number". The result has inputs
// [N, F] and targets [N, num_outputs].
absl::StatusOr<Dataset> ParseCsv(absl::string_view text, absl::string_view source_name,
                                 const CsvOptions& options);

// Reads and parses the file at `path` (NOT_FOUND if it cannot be opened).
absl::StatusOr<Dataset> ReadCsvFile(const std::string& path, const CsvOptions& options);

// A dataset from flat value lists: x holds N * num_features inputs, y holds
// N * O targets, example after example. INVALID_ARGUMENT naming `what` when the
// sizes do not divide. Example: x [1, 2, 3, 4], y [0, -1, -2, -3] gives inputs
// [4, 1] and targets [4, 1].
absl::StatusOr<Dataset> DatasetFromValues(absl::Span<const float> x,
                                          absl::Span<const float> y, int num_features,
                                          absl::string_view what);

}  // namespace tessera

#endif  // TESSERA_DATA_CSV_SOURCE_H_
