#include "tools/model_command.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nn/model.h"
#include "nn/model_def.h"
#include "nn/model_summary.h"

namespace tessera {
namespace {

constexpr char kUsage[] = "usage: tessera_ctl model summary MODEL.pbtxt\n";

// "25.6 M", "4.09 G": three significant digits.
std::string Approximate(int64_t n) {
  const char* units[] = {"", " k", " M", " G", " T"};
  double value = static_cast<double>(n);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(n);
  return absl::StrCat(absl::StrFormat(value >= 100 ? "%.0f" : value >= 10 ? "%.1f" : "%.2f",
                                      value),
                      units[unit]);
}

void PrintSummary(const ModelSummary& summary, std::ostream& out) {
  struct Row {
    std::string name, kind, inputs, output, parameters, multiply_adds;
  };
  std::vector<Row> rows = {{"layer", "type", "inputs", "output", "parameters", "mult-adds"}};
  for (const LayerSummary& layer : summary.layers) {
    rows.push_back({layer.name, layer.kind, absl::StrJoin(layer.inputs, ","),
                    ShapeString(layer.output_shape), absl::StrCat(layer.parameters),
                    absl::StrCat(layer.multiply_adds)});
  }
  size_t w[6] = {0, 0, 0, 0, 0, 0};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.name.size());
    w[1] = std::max(w[1], r.kind.size());
    w[2] = std::max(w[2], r.inputs.size());
    w[3] = std::max(w[3], r.output.size());
    w[4] = std::max(w[4], r.parameters.size());
    w[5] = std::max(w[5], r.multiply_adds.size());
  }
  out << "model " << summary.name << ", input " << ShapeString(summary.input_shape) << "\n";
  for (const Row& r : rows) {
    out << absl::StrFormat("%-*s  %-*s  %-*s  %-*s  %*s  %*s\n", w[0], r.name, w[1], r.kind,
                           w[2], r.inputs, w[3], r.output, w[4], r.parameters, w[5],
                           r.multiply_adds);
  }
  out << "parameters: " << summary.parameters << " (" << Approximate(summary.parameters)
      << ")\n";
  if (summary.non_trainable > 0) {
    out << "non-trainable (moving averages): " << summary.non_trainable << " ("
        << Approximate(summary.non_trainable) << ")\n";
  }
  out << "multiply-adds per image: " << summary.multiply_adds << " ("
      << Approximate(summary.multiply_adds) << ")\n";
}

}  // namespace

int RunModelCommand(const std::vector<std::string>& args, std::ostream& out,
                    std::ostream& err) {
  if (args.empty() || args[0] != "summary" || args.size() != 2 || args[1].empty() ||
      args[1][0] == '-') {
    const std::string problem =
        args.empty()            ? "missing subcommand"
        : args[0] != "summary"  ? absl::StrCat("unknown subcommand \"", args[0], "\"")
        : args.size() != 2      ? absl::StrCat("model summary takes one model file, got ",
                                               args.size() - 1, " arguments")
                                : absl::StrCat("unknown flag ", args[1]);
    err << "error: " << problem << "\n" << kUsage;
    return 2;
  }
  auto def = ReadModelDefFile(args[1]);
  if (!def.ok()) {
    err << "error: " << def.status().message() << "\n";
    return 1;
  }
  auto model = Model::FromModelDef(*def);
  if (!model.ok()) {
    err << "error: " << args[1] << ": " << model.status().message() << "\n";
    return 1;
  }
  PrintSummary(SummarizeModel(**model), out);
  return 0;
}

}  // namespace tessera
