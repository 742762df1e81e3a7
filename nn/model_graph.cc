#include "nn/model_graph.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace tessera {

std::string InputName(const ModelDef& def, int source) {
  return source == kModelInput ? kModelInputName : def.layer(source).name();
}

absl::StatusOr<std::vector<std::vector<int>>> ResolveLayerInputs(const ModelDef& def) {
  absl::flat_hash_map<std::string, int> index;  // layer name -> position in def
  for (int i = 0; i < def.layer_size(); ++i) {
    const std::string& name = def.layer(i).name();
    const std::string layer = absl::StrCat("layer ", i, " '", name, "': ");
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("layer ", i, " has no name"));
    if (name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(layer, "name must not contain '/'"));
    }
    if (name == kModelInputName) {
      return absl::InvalidArgumentError(absl::StrCat(
          layer, "the name '", kModelInputName, "' is reserved for the model's input"));
    }
    if (!index.emplace(name, i).second) {
      return absl::InvalidArgumentError(absl::StrCat(layer, "duplicate layer name"));
    }
  }
  std::vector<std::vector<int>> inputs(def.layer_size());
  std::vector<bool> read(def.layer_size(), false);
  for (int i = 0; i < def.layer_size(); ++i) {
    const LayerDef& layer_def = def.layer(i);
    const std::string layer = absl::StrCat("layer ", i, " '", layer_def.name(), "': ");
    if (layer_def.inputs_size() == 0) inputs[i].push_back(i - 1);  // kModelInput for i == 0
    for (const std::string& name : layer_def.inputs()) {
      if (name == kModelInputName) {
        inputs[i].push_back(kModelInput);
        continue;
      }
      const auto it = index.find(name);
      if (it == index.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(layer, "input '", name, "' is not a layer of the model"));
      }
      if (it->second == i) {
        return absl::InvalidArgumentError(
            absl::StrCat(layer, "input '", name, "' is the layer itself"));
      }
      if (it->second > i) {
        return absl::InvalidArgumentError(absl::StrCat(
            layer, "input '", name, "' is layer ", it->second,
            ", defined after this one (a layer reads only earlier layers, so the graph "
            "has no cycle)"));
      }
      inputs[i].push_back(it->second);
    }
    for (int source : inputs[i]) {
      if (source != kModelInput) read[source] = true;
    }
  }
  for (int i = 0; i + 1 < def.layer_size(); ++i) {
    if (!read[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "layer ", i, " '", def.layer(i).name(),
          "': output is read by no layer (only the last layer's output, the model's, "
          "may be left unread)"));
    }
  }
  return inputs;
}

}  // namespace tessera
