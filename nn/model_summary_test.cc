#include "nn/model_summary.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nn/model_test_util.h"

namespace tessera {
namespace {

// The counts torchvision gives (parameters with batch norm's weight and bias,
// without its running statistics) and the usual multiply-add counts
// (convolutions and the classifier) at 224x224.
TEST(ModelSummaryTest, ResNet50HasItsKnownCounts) {
  auto model = LoadExample("resnet50");
  ASSERT_NE(model, nullptr);
  const ModelSummary summary = SummarizeModel(*model);
  EXPECT_EQ(summary.parameters, 25557032);
  EXPECT_EQ(summary.non_trainable, 53120);  // Keras' ResNet50: 2 x 26,560 channels
  // 4.09 G, as ptflops and fvcore count torchvision's resnet50.
  EXPECT_EQ(summary.multiply_adds, 4089184256);
  EXPECT_EQ(model->output_shape(), Shape({1000}));
  const LayerSummary& stem = summary.layers[0];
  EXPECT_EQ(stem.name, "conv1_conv");
  EXPECT_EQ(stem.kind, "conv2d");
  EXPECT_EQ(stem.inputs, std::vector<std::string>({"input"}));
  EXPECT_EQ(stem.output_shape, Shape({112, 112, 64}));
  EXPECT_EQ(stem.parameters, 7 * 7 * 3 * 64);
  EXPECT_EQ(stem.multiply_adds, 112 * 112 * 7 * 7 * 3 * 64);
  EXPECT_EQ(summary.layers[3].output_shape, Shape({56, 56, 64}));  // pool1_pool
  EXPECT_EQ(summary.layers.back().output_shape, Shape({1000}));
}

TEST(ModelSummaryTest, ResNet18HasItsKnownCounts) {
  auto model = LoadExample("resnet18");
  ASSERT_NE(model, nullptr);
  const ModelSummary summary = SummarizeModel(*model);
  EXPECT_EQ(summary.parameters, 11689512);
  EXPECT_EQ(summary.non_trainable, 9600);  // torchvision's running_mean and running_var
  EXPECT_EQ(summary.multiply_adds, 1814073344);  // 1.81 G
  EXPECT_EQ(model->layers()[model->layers().size() - 2]->output_shape(), Shape({512}));
}

TEST(ModelSummaryTest, AddsUpEveryLayer) {
  auto model = LoadExample("mnist_deep");
  ASSERT_NE(model, nullptr);
  const ModelSummary summary = SummarizeModel(*model);
  ASSERT_EQ(summary.layers.size(), 10u);
  EXPECT_EQ(summary.layers[1].kind, "relu");
  EXPECT_EQ(summary.layers[1].inputs, std::vector<std::string>({"conv1"}));
  EXPECT_EQ(summary.layers[1].parameters, 0);
  EXPECT_EQ(summary.non_trainable, 0);
  EXPECT_EQ(summary.parameters, 5 * 5 * 32 + 32 + 5 * 5 * 32 * 64 + 64 + 3136 * 1024 + 1024 +
                                    1024 * 10 + 10);
  EXPECT_EQ(summary.multiply_adds,
            28 * 28 * 25 * 32 + 14 * 14 * 25 * 32 * 64 + 3136 * 1024 + 1024 * 10);
}

TEST(ModelSummaryTest, ResNetSmallBuilds) {
  auto model = LoadExample("resnet_small");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->output_shape(), Shape({10}));
  EXPECT_EQ(model->layers()[model->layers().size() - 3]->output_shape(), Shape({7, 7, 64}));
}

}  // namespace
}  // namespace tessera
