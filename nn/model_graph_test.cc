// Models whose layers name their inputs (LayerDef.inputs): residual and
// Inception-style graphs, their gradients, the split batch over them, and the
// errors of a bad graph.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nn/model.h"
#include "nn/model_def.h"
#include "nn/model_graph.h"
#include "nn/model_test_util.h"

namespace tessera {
namespace {

Dataset SineBatch(int64_t n, const Shape& example, int classes) {
  Shape shape{n};
  shape.insert(shape.end(), example.begin(), example.end());
  Dataset batch;
  batch.inputs = Tensor(shape);
  for (int64_t i = 0; i < batch.inputs.size(); ++i) batch.inputs[i] = std::sin(0.37 * i);
  for (int64_t i = 0; i < n; ++i) batch.labels.push_back(static_cast<int32_t>((i * 7) % classes));
  return batch;
}

// A basic residual block with an identity shortcut (conv -> bn -> relu -> conv
// -> bn, + the block's input, relu), then one with a stride 2 projection
// shortcut (a 1x1 conv and bn beside the main path), as ResNet-18's.
constexpr char kResidualNet[] = R"(
    name: "residual" input_shape: [6, 6, 3]
    layer { name: "stem" conv2d { filters: 4 kernel_size: 3 use_bias: false } }
    layer { name: "stem_bn" batch_norm {} }
    layer { name: "stem_relu" relu {} }
    layer { name: "a_conv1" conv2d { filters: 4 kernel_size: 3 use_bias: false } }
    layer { name: "a_bn1" batch_norm {} }
    layer { name: "a_relu1" relu {} }
    layer { name: "a_conv2" conv2d { filters: 4 kernel_size: 3 use_bias: false } }
    layer { name: "a_bn2" batch_norm {} }
    layer { name: "a_add" inputs: ["a_bn2", "stem_relu"] add {} }
    layer { name: "a_out" relu {} }
    layer { name: "b_conv1" conv2d { filters: 6 kernel_size: 3 stride: 2 use_bias: false } }
    layer { name: "b_bn1" batch_norm {} }
    layer { name: "b_relu1" relu {} }
    layer { name: "b_conv2" conv2d { filters: 6 kernel_size: 3 use_bias: false } }
    layer { name: "b_bn2" batch_norm {} }
    layer { name: "b_proj" inputs: "a_out" conv2d { filters: 6 kernel_size: 1 stride: 2 use_bias: false } }
    layer { name: "b_proj_bn" batch_norm {} }
    layer { name: "b_add" inputs: ["b_bn2", "b_proj_bn"] add {} }
    layer { name: "b_out" relu {} }
    layer { name: "pool" global_avg_pool {} }
    layer { name: "fc" dense { units: 3 } }
    loss { softmax_cross_entropy {} })";

TEST(ModelGraphTest, ResidualBlocksHaveTheirShapesAndVariables) {
  auto model = FromText(kResidualNet);
  ASSERT_NE(model, nullptr);
  const auto& layers = model->layers();
  EXPECT_EQ(layers[9]->output_shape(), Shape({6, 6, 4}));   // a_out
  EXPECT_EQ(layers[10]->output_shape(), Shape({3, 3, 6}));  // b_conv1
  EXPECT_EQ(layers[15]->output_shape(), Shape({3, 3, 6}));  // b_proj
  EXPECT_EQ(layers[19]->output_shape(), Shape({6}));        // pool
  EXPECT_EQ(model->layer_inputs()[0], std::vector<int>({kModelInput}));
  EXPECT_EQ(model->layer_inputs()[8], std::vector<int>({7, 2}));
  EXPECT_EQ(model->layer_inputs()[15], std::vector<int>({9}));
  EXPECT_EQ(model->layer_inputs()[16], std::vector<int>({15}));
  EXPECT_EQ(model->variables()[0].name, "stem/weights");  // no biases
  EXPECT_EQ(model->variables()[1].name, "stem_bn/gamma");
}

TEST(ModelGraphTest, ResidualGradientsMatchFiniteDifferences) {
  auto model = FromText(kResidualNet);
  ASSERT_NE(model, nullptr);
  const Dataset batch = SineBatch(3, model->input_shape(), 3);
  // Five ReLUs after batch norms: a step of 3e-3 in a stem weight moves enough
  // values across a ReLU's kink to spoil central differences (the same net
  // without the ReLUs passes at 3e-3); 3e-4 stays clear of them.
  EXPECT_EQ(CheckModelGradients(model.get(), model->InitialValues(5), batch, 11, 3e-4), 0);
}

// An Inception block: 1x1, 3x3 and 5x5 convolutions and a 3x3 stride 1 max
// pool with a 1x1 projection, side by side on one input, concatenated.
constexpr char kInceptionNet[] = R"(
    name: "inception" input_shape: [5, 5, 3]
    layer { name: "b1" conv2d { filters: 2 kernel_size: 1 } }
    layer { name: "b3_reduce" inputs: "input" conv2d { filters: 2 kernel_size: 1 } }
    layer { name: "b3" conv2d { filters: 3 kernel_size: 3 } }
    layer { name: "b5_reduce" inputs: "input" conv2d { filters: 1 kernel_size: 1 } }
    layer { name: "b5" conv2d { filters: 2 kernel_size: 5 } }
    layer { name: "pool" inputs: "input" avg_pool { size: 3 stride: 1 padding: SAME } }
    layer { name: "pool_proj" conv2d { filters: 2 kernel_size: 1 } }
    layer { name: "concat" inputs: ["b1", "b3", "b5", "pool_proj"] concat {} }
    layer { name: "gap" global_avg_pool {} }
    layer { name: "fc" dense { units: 4 } }
    loss { softmax_cross_entropy {} })";

TEST(ModelGraphTest, InceptionGradientsMatchFiniteDifferences) {
  auto model = FromText(kInceptionNet);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->layers()[7]->output_shape(), Shape({5, 5, 9}));
  const Dataset batch = SineBatch(2, model->input_shape(), 4);
  EXPECT_EQ(CheckModelGradients(model.get(), model->InitialValues(6), batch, 3), 0);
}

// One output read three times, twice by one layer, and a dense layer that
// reads the model's input directly: every reader's gradient is added up.
TEST(ModelGraphTest, GradientsOfAnOutputReadSeveralTimesAddUp) {
  auto model = FromText(R"(
      name: "fanout" input_shape: [4]
      layer { name: "h" dense { units: 3 } }
      layer { name: "twice" inputs: ["h", "h"] add {} }
      layer { name: "skip" inputs: "input" dense { units: 3 } }
      layer { name: "sum" inputs: ["twice", "h", "skip"] add {} }
      layer { name: "out" dense { units: 2 } }
      loss { softmax_cross_entropy {} })");
  ASSERT_NE(model, nullptr);
  const Dataset batch = SineBatch(3, model->input_shape(), 2);
  EXPECT_EQ(CheckModelGradients(model.get(), model->InitialValues(7), batch, 1), 0);
}

// Naming the default inputs changes nothing: mnist_deep's layers with
// explicit inputs give the same loss and gradients, bit for bit.
TEST(ModelGraphTest, ExplicitPreviousInputsEqualTheDefault) {
  auto def = ReadModelDefFile("examples/models/mnist_deep.pbtxt");
  ASSERT_TRUE(def.ok()) << def.status();
  ModelDef named = *def;
  for (int i = 0; i < named.layer_size(); ++i) {
    named.mutable_layer(i)->add_inputs(i == 0 ? "input" : named.layer(i - 1).name());
  }
  auto plain = Model::FromModelDef(*def);
  auto graph = Model::FromModelDef(named);
  ASSERT_TRUE(plain.ok() && graph.ok());
  const std::vector<Tensor> params = (*plain)->InitialValues(1);
  const Dataset batch = SineBatch(4, (*plain)->input_shape(), 10);
  std::vector<Tensor> want, got;
  auto want_loss = (*plain)->ComputeGradients(Pointers(params), batch, 5, &want);
  auto got_loss = (*graph)->ComputeGradients(Pointers(params), batch, 5, &got);
  ASSERT_TRUE(want_loss.ok() && got_loss.ok());
  EXPECT_EQ(*want_loss, *got_loss);
  ASSERT_EQ(want.size(), got.size());
  for (size_t v = 0; v < want.size(); ++v) EXPECT_EQ(want[v].span(), got[v].span()) << v;
}

// SPLIT_BATCH over a graph without batch norm: a dense layer whose input is
// not the previous layer's output (a batch product gathered from its real
// input), concat and add; the slices give the whole batch's gradients.
TEST(ModelGraphTest, SplitBatchGivesTheWholeBatchGradients) {
  constexpr char kNet[] = R"(
      name: "split_graph" input_shape: [6, 6, 2]
      layer { name: "c1" conv2d { filters: 3 kernel_size: 3 } }
      layer { name: "r1" relu {} }
      layer { name: "c2" inputs: "input" conv2d { filters: 2 kernel_size: 1 stride: 2 } }
      layer { name: "c3" inputs: "r1" conv2d { filters: 2 kernel_size: 3 stride: 2 } }
      layer { name: "cat" inputs: ["c2", "c3"] concat {} }
      layer { name: "fc_a" dense { units: 5 } }
      layer { name: "fc_b" inputs: "r1" dense { units: 5 } }
      layer { name: "sum" inputs: ["fc_a", "fc_b"] add {} }
      layer { name: "drop" dropout { rate: 0.5 } }
      loss { softmax_cross_entropy {} })";
  auto whole = FromText(kNet);
  auto split = FromText(kNet);
  ASSERT_NE(whole, nullptr);
  ASSERT_NE(split, nullptr);
  split->SetComputeThreads(2, SPLIT_BATCH);
  const std::vector<Tensor> params = whole->InitialValues(3);
  const Dataset batch = SineBatch(37, whole->input_shape(), 5);
  std::vector<Tensor> want, got;
  auto want_loss = whole->ComputeGradients(Pointers(params), batch, 9, &want);
  ASSERT_TRUE(want_loss.ok());
  for (int repeat = 0; repeat < 2; ++repeat) {
    auto loss = split->ComputeGradients(Pointers(params), batch, 9, &got);
    ASSERT_TRUE(loss.ok()) << loss.status();
    EXPECT_NEAR(*loss, *want_loss, 1e-5 * std::fabs(*want_loss));
    ASSERT_EQ(want.size(), got.size());
    double worst = 0;
    for (size_t v = 0; v < want.size(); ++v) {
      for (int64_t i = 0; i < want[v].size(); ++i) {
        worst = std::max(worst, std::fabs(want[v][i] - got[v][i]) / (1.0 + std::fabs(want[v][i])));
      }
    }
    EXPECT_LT(worst, 1e-5);
  }
}

// The loss, gradients and evaluation of `text`'s model built with and without
// fused relus (ModelBuildOptions::fuse_relu) on `batch`, bit for bit; the
// fused model fuses exactly `fused` (layer names). `threads` > 1: both cut
// their evaluation into that many slices (SPLIT_BATCH).
void ExpectFusedReluIsExact(const std::string& text, const std::vector<std::string>& fused,
                            int64_t batch_size, int threads = 1) {
  auto def = ParseModelDef(text, "test");
  ASSERT_TRUE(def.ok()) << def.status();
  ModelBuildOptions plain_options;
  plain_options.fuse_relu = false;
  auto plain = Model::FromModelDef(*def, plain_options);
  auto fused_model = Model::FromModelDef(*def);
  ASSERT_TRUE(plain.ok() && fused_model.ok());
  std::vector<std::string> got_fused;
  for (size_t i = 0; i < (*fused_model)->layers().size(); ++i) {
    EXPECT_FALSE((*plain)->fused_relus()[i]);
    if ((*fused_model)->fused_relus()[i]) got_fused.push_back((*fused_model)->layers()[i]->name());
  }
  EXPECT_EQ(got_fused, fused);
  if (threads > 1) {
    (*plain)->SetComputeThreads(threads, SPLIT_BATCH);
    (*fused_model)->SetComputeThreads(threads, SPLIT_BATCH);
  }
  std::vector<Tensor> params = (*plain)->InitialValues(4);
  // Moving averages away from their initial 0 and 1, so evaluation
  // normalizes with values of their own.
  for (size_t v = 0; v < params.size(); ++v) {
    if ((*plain)->variables()[v].kind != MOVING_AVERAGE) continue;
    for (int64_t i = 0; i < params[v].size(); ++i) params[v][i] += 0.1f * std::cos(1.3 * i + v);
  }
  const Dataset batch = SineBatch(batch_size, (*plain)->input_shape(), 3);
  std::vector<Tensor> want, got;
  for (int step = 0; step < 2; ++step) {  // the second reuses the buffers
    auto want_loss = (*plain)->ComputeGradients(Pointers(params), batch, 5, &want);
    auto got_loss = (*fused_model)->ComputeGradients(Pointers(params), batch, 5, &got);
    ASSERT_TRUE(want_loss.ok() && got_loss.ok());
    EXPECT_EQ(*want_loss, *got_loss);
    ASSERT_EQ(want.size(), got.size());
    for (size_t v = 0; v < want.size(); ++v) {
      EXPECT_EQ(want[v].span(), got[v].span()) << (*plain)->variables()[v].name;
    }
    auto want_eval = (*plain)->Evaluate(Pointers(params), batch);
    auto got_eval = (*fused_model)->Evaluate(Pointers(params), batch);
    ASSERT_TRUE(want_eval.ok() && got_eval.ok());
    EXPECT_EQ(want_eval->loss_sum, got_eval->loss_sum);
    EXPECT_EQ(want_eval->correct, got_eval->correct);
  }
}

// A relu that alone reads a batch norm's or an add's output is done by that
// layer: the same floats as the two layers apart, in training (batch
// statistics, the moving averages' deltas) and in evaluation.
TEST(ModelGraphTest, FusedRelusGiveTheSameFloats) {
  ExpectFusedReluIsExact(kResidualNet, {"stem_relu", "a_relu1", "a_out", "b_relu1", "b_out"}, 5);
}

TEST(ModelGraphTest, FusedRelusGiveTheSameFloatsInSplitEvaluation) {
  ExpectFusedReluIsExact(kResidualNet, {"stem_relu", "a_relu1", "a_out", "b_relu1", "b_out"}, 37,
                         /*threads=*/2);
}

// Not fused: a relu of an output that another layer reads too (bn1 feeds the
// add as well), of the model's input, of a layer that cannot (dense), and a
// relu of a relu; fused: after an add of three inputs, and one ending the model.
TEST(ModelGraphTest, OnlyARelusSoleReaderIsFused) {
  ExpectFusedReluIsExact(R"(
      name: "fusion" input_shape: [4, 4, 2]
      layer { name: "r0" relu {} }
      layer { name: "c1" conv2d { filters: 3 kernel_size: 3 use_bias: false } }
      layer { name: "bn1" batch_norm {} }
      layer { name: "r1" relu {} }
      layer { name: "c2" inputs: "r1" conv2d { filters: 3 kernel_size: 1 } }
      layer { name: "sum" inputs: ["c2", "bn1", "r1"] add {} }
      layer { name: "r2" relu {} }
      layer { name: "r3" relu {} }
      layer { name: "gap" global_avg_pool {} }
      layer { name: "fc" dense { units: 4 } }
      layer { name: "r4" relu {} }
      layer { name: "fc2" dense { units: 3 } }
      layer { name: "bn2" batch_norm {} }
      layer { name: "r5" relu {} }
      loss { softmax_cross_entropy {} })",
                         {"r2", "r5"}, 6);
}

// A relu whose input layer cannot take it (conv2d) is done by a max pool
// that alone reads it: windows tiling the map (mnist_deep's), overlapping
// (3x3/2 SAME, ResNet's stem pool) and too big to record their cells (16x16);
// not by an average pool, nor a max pool when another layer reads the relu too.
// The same floats in one step and in a step split over two threads.
constexpr char kReluPoolNet[] = R"(
    name: "relu_pool" input_shape: [16, 16, 2]
    layer { name: "c1" conv2d { filters: 4 kernel_size: 3 } }
    layer { name: "r1" relu {} }
    layer { name: "p1" max_pool { size: 2 } }
    layer { name: "c2" conv2d { filters: 4 kernel_size: 3 } }
    layer { name: "r2" relu {} }
    layer { name: "p2" max_pool { size: 3 stride: 2 padding: SAME } }
    layer { name: "c3" inputs: "input" conv2d { filters: 3 kernel_size: 1 } }
    layer { name: "r3" relu {} }
    layer { name: "p3" max_pool { size: 16 } }
    layer { name: "c4" inputs: "input" conv2d { filters: 3 kernel_size: 1 } }
    layer { name: "r4" relu {} }
    layer { name: "p4" avg_pool { size: 16 } }
    layer { name: "c5" inputs: "input" conv2d { filters: 3 kernel_size: 1 } }
    layer { name: "r5" relu {} }
    layer { name: "p5" max_pool { size: 16 } }
    layer { name: "g5" inputs: "r5" global_avg_pool {} }
    layer { name: "f2" inputs: "p2" dense { units: 3 } }
    layer { name: "f3" inputs: "p3" dense { units: 3 } }
    layer { name: "f4" inputs: "p4" dense { units: 3 } }
    layer { name: "f5" inputs: "p5" dense { units: 3 } }
    layer { name: "sum" inputs: ["f2", "f3", "f4", "f5", "g5"] add {} }
    loss { softmax_cross_entropy {} })";

TEST(ModelGraphTest, ARelusMaxPoolDoesItsWork) {
  ExpectFusedReluIsExact(kReluPoolNet, {"r1", "r2", "r3"}, 6);
  ExpectFusedReluIsExact(kReluPoolNet, {"r1", "r2", "r3"}, 37, /*threads=*/2);
  auto model = FromText(kReluPoolNet);
  ASSERT_NE(model, nullptr);
  const std::vector<int>& done_by = model->relus_done_by();
  const auto name = [&](size_t i) {
    return done_by[i] < 0 ? std::string("-") : model->layers()[done_by[i]]->name();
  };
  EXPECT_EQ(name(1), "p1");
  EXPECT_EQ(name(4), "p2");
  EXPECT_EQ(name(7), "p3");
  EXPECT_EQ(name(10), "-");
  EXPECT_EQ(name(13), "-");
}

TEST(ModelGraphTest, RepeatedStepsDoNotGrowTheHeap) {
  auto model = FromText(kResidualNet);
  ASSERT_NE(model, nullptr);
  const Dataset batch = SineBatch(4, model->input_shape(), 3);
  EXPECT_EQ(HeapGrowthOverSteps(model.get(), model->InitialValues(2), batch, 3), 0);
}

TEST(ModelGraphTest, RejectsBadGraphsNamingTheLayerAndInput) {
  const std::string head = "name: 'm' input_shape: [4, 4, 2] ";
  const std::string tail = " layer { name: 'gap' global_avg_pool {} } loss { softmax_cross_entropy {} }";
  auto expect = [&](const std::string& layers, const std::string& message) {
    auto def = ParseModelDef(head + layers + tail, "test");
    ASSERT_TRUE(def.ok()) << def.status();
    const absl::Status s = Model::FromModelDef(*def).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << layers;
    EXPECT_EQ(s.message(), message) << layers;
  };
  expect("layer { name: 'a' relu {} } layer { name: 'b' inputs: 'nope' relu {} }",
         "model 'm': layer 1 'b': input 'nope' is not a layer of the model");
  expect("layer { name: 'a' inputs: 'a' relu {} }",
         "model 'm': layer 0 'a': input 'a' is the layer itself");
  expect("layer { name: 'a' inputs: 'b' relu {} } layer { name: 'b' inputs: 'a' relu {} }",
         "model 'm': layer 0 'a': input 'b' is layer 1, defined after this one (a layer "
         "reads only earlier layers, so the graph has no cycle)");
  expect("layer { name: 'a' relu {} } layer { name: 'b' inputs: 'input' relu {} }",
         "model 'm': layer 0 'a': output is read by no layer (only the last layer's "
         "output, the model's, may be left unread)");
  expect("layer { name: 'input' relu {} }",
         "model 'm': layer 0 'input': the name 'input' is reserved for the model's input");
  expect("layer { name: 'a' conv2d { filters: 3 kernel_size: 1 } } "
         "layer { name: 'b' inputs: ['a', 'input'] add {} }",
         "model 'm': layer 1 'b': add needs inputs of one shape: input 'input' is [4, 4, 2], "
         "input 'a' is [4, 4, 3]");
  expect("layer { name: 'a' conv2d { filters: 3 kernel_size: 1 stride: 2 } } "
         "layer { name: 'b' inputs: ['input', 'a'] concat {} }",
         "model 'm': layer 1 'b': concat needs inputs whose dimensions but the last agree: "
         "input 'a' is [2, 2, 3], input 'input' is [4, 4, 2]");
  expect("layer { name: 'a' relu {} } layer { name: 'b' add {} }",
         "model 'm': layer 1 'b': add needs 2 or more inputs, got 1");
  expect("layer { name: 'a' relu {} } layer { name: 'b' inputs: ['a', 'input'] relu {} }",
         "model 'm': layer 1 'b': relu reads 1 input, got 2");
  auto def = ParseModelDef(
      "name: 'm' input_shape: [4] layer { name: 'fc' dense { units: 2 } } "
      "layer { name: 'gap' global_avg_pool {} } loss { softmax_cross_entropy {} }",
      "test");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(Model::FromModelDef(*def).status().message(),
            "model 'm': layer 1 'gap': global_avg_pool needs an input of shape [H, W, C], "
            "got [2]");
}

}  // namespace
}  // namespace tessera
