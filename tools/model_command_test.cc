#include "tools/model_command.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

struct Result {
  int code;
  std::string out, err;
};

Result RunModel(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = RunModelCommand(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(ModelCommandTest, SummarizesResNet50) {
  const Result r = RunModel({"summary", "examples/models/resnet50.pbtxt"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "model resnet50, input [224, 224, 3]\n")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\nparameters: 25557032 (25.6 M)\n"
                                        "non-trainable (moving averages): 53120 (53.1 k)\n"))
      << r.out;
  EXPECT_TRUE(absl::EndsWith(r.out, "\nmultiply-adds per image: 4089184256 (4.09 G)\n"))
      << r.out;
  // A projection shortcut: kind, input, output, parameters, multiply-adds.
  EXPECT_TRUE(absl::StrContains(r.out, "conv3_block1_0_conv  conv2d ")) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    if (!absl::StartsWith(line, "conv3_block1_add ")) continue;
    found = true;
    EXPECT_TRUE(absl::StrContains(line, " add ")) << line;
    EXPECT_TRUE(absl::StrContains(line, " conv3_block1_3_bn,conv3_block1_0_bn ")) << line;
    EXPECT_TRUE(absl::StrContains(line, " [28, 28, 512] ")) << line;
  }
  EXPECT_TRUE(found) << r.out;
}

TEST(ModelCommandTest, SummarizesResNet18) {
  const Result r = RunModel({"summary", "examples/models/resnet18.pbtxt"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.out, "\nparameters: 11689512 (11.7 M)\n")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\nmultiply-adds per image: 1814073344 (1.81 G)\n"))
      << r.out;
}

TEST(ModelCommandTest, ReportsUsageAndModelErrors) {
  Result r = RunModel({});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "error: missing subcommand\nusage: tessera_ctl model summary MODEL.pbtxt\n");
  r = RunModel({"inspect", "x.pbtxt"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: unknown subcommand \"inspect\"\n")) << r.err;
  r = RunModel({"summary"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(absl::StartsWith(r.err, "error: model summary takes one model file, got 0")) << r.err;
  r = RunModel({"summary", "no/such/model.pbtxt"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "no/such/model.pbtxt")) << r.err;

  const std::string path = std::string(getenv("TEST_TMPDIR")) + "/bad.pbtxt";
  std::ofstream(path) << "name: 'bad' input_shape: [4] layer { name: 'a' relu {} }\n"
                         "layer { name: 'b' inputs: 'c' relu {} } loss { softmax_cross_entropy {} }\n";
  r = RunModel({"summary", path});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: " + path +
                       ": model 'bad': layer 1 'b': input 'c' is not a layer of the model\n");
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace tessera
