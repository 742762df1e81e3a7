#include "nn/model_def.h"

#include "common/text_proto.h"

namespace tessera {

absl::StatusOr<ModelDef> ParseModelDef(absl::string_view text, absl::string_view source) {
  ModelDef def;
  absl::Status status = ParseTextProto(text, source, &def);
  if (!status.ok()) return status;
  return def;
}

absl::StatusOr<ModelDef> ReadModelDefFile(const std::string& path) {
  ModelDef def;
  absl::Status status = ReadTextProtoFile(path, "model file", &def);
  if (!status.ok()) return status;
  return def;
}

}  // namespace tessera
