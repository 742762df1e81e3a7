#include "nn/model_def.h"

#include "common/text_proto.h"
#include "google/protobuf/descriptor.h"

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

std::string LayerKindName(const LayerDef& layer) {
  const google::protobuf::OneofDescriptor* kind =
      LayerDef::descriptor()->FindOneofByName("kind");
  const google::protobuf::FieldDescriptor* field =
      LayerDef::GetReflection()->GetOneofFieldDescriptor(layer, kind);
  return field == nullptr ? "" : field->name();
}

}  // namespace tessera
