#ifndef TESSERA_NN_MODEL_DEF_H_
#define TESSERA_NN_MODEL_DEF_H_

// Reading ModelDef text protos (protos/model.proto).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protos/model.pb.h"

namespace tessera {

// Parses a text-format ModelDef. INVALID_ARGUMENT "<source>:<line>:<column>: <what>"
// for syntax errors and unknown fields.
absl::StatusOr<ModelDef> ParseModelDef(absl::string_view text, absl::string_view source);

// Reads and parses the file at `path`; NOT_FOUND when it cannot be read.
absl::StatusOr<ModelDef> ReadModelDefFile(const std::string& path);

// The name of the kind a layer sets ("conv2d", "add"), as in the text format;
// "" when none is set.
std::string LayerKindName(const LayerDef& layer);

}  // namespace tessera

#endif  // TESSERA_NN_MODEL_DEF_H_
