#include "nn/model_def.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace tessera {
namespace {

// Keeps the first parse error, with its 1-based position.
class FirstErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstErrorCollector(absl::string_view source) : source_(source) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (error_.empty()) error_ = absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message);
  }
  const std::string& error() const { return error_; }

 private:
  const std::string source_;
  std::string error_;
};

}  // namespace

absl::StatusOr<ModelDef> ParseModelDef(absl::string_view text, absl::string_view source) {
  FirstErrorCollector errors(source);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  ModelDef def;
  if (!parser.ParseFromString(std::string(text), &def)) {
    return absl::InvalidArgumentError(
        errors.error().empty() ? absl::StrCat(source, ": cannot parse ModelDef") : errors.error());
  }
  return def;
}

absl::StatusOr<ModelDef> ReadModelDefFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read model file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseModelDef(text.str(), path);
}

}  // namespace tessera
