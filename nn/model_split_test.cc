// SPLIT_BATCH (Model::SetComputeThreads): a batch cut into slices on threads
// gives the whole batch's loss and gradients.

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nn/model.h"
#include "nn/model_test_util.h"

namespace tessera {
namespace {

// Max |a - b| / (1 + |a|) over every element of two gradient lists.
double MaxRelativeDifference(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t v = 0; v < a.size() && v < b.size(); ++v) {
    EXPECT_EQ(a[v].shape(), b[v].shape());
    for (int64_t i = 0; i < a[v].size() && i < b[v].size(); ++i) {
      worst = std::max(worst, std::fabs(a[v][i] - b[v][i]) / (1.0 + std::fabs(a[v][i])));
    }
  }
  return worst;
}

Dataset SineBatch(int64_t n, const Shape& example, int classes, int outputs) {
  Shape shape{n};
  shape.insert(shape.end(), example.begin(), example.end());
  Dataset batch;
  batch.inputs = Tensor(shape);
  for (int64_t i = 0; i < batch.inputs.size(); ++i) batch.inputs[i] = std::sin(0.37 * i);
  if (classes > 0) {
    for (int64_t i = 0; i < n; ++i) batch.labels.push_back(static_cast<int32_t>((i * 7) % classes));
  } else {
    batch.targets = Tensor({n, outputs});
    for (int64_t i = 0; i < batch.targets.size(); ++i) batch.targets[i] = std::cos(0.11 * i);
  }
  return batch;
}

// A conv net whose dropout sees 15 values per example, so that a slice can
// start at an odd element of the whole batch's mask.
constexpr char kSplitNet[] = R"(
    name: "split" input_shape: [8, 8, 2]
    layer { name: "conv" conv2d { filters: 4 kernel_size: 3 } }
    layer { name: "relu" relu {} }
    layer { name: "pool" max_pool {} }
    layer { name: "fc1" dense { units: 15 } }
    layer { name: "drop" dropout { rate: 0.5 } }
    layer { name: "fc2" dense { units: 5 } }
    loss { softmax_cross_entropy {} })";

// Dense layers of at least DenseLayer::kMinSharedWeights weights share their
// products over the slices (SliceGroup): fc0 (128 x 520) as the first layer,
// with no input gradient, and fc1 (520 x 130) with one; 520 and 130 columns
// cut at multiples of 16 leave unequal parts on 3 threads.
constexpr char kSharedNet[] = R"(
    name: "shared" input_shape: [8, 8, 2]
    layer { name: "fc0" dense { units: 520 } }
    layer { name: "relu0" relu {} }
    layer { name: "fc1" dense { units: 130 } }
    layer { name: "drop" dropout { rate: 0.5 } }
    layer { name: "fc2" dense { units: 5 } }
    loss { softmax_cross_entropy {} })";

void ExpectSplitGivesTheWholeBatchGradients(const char* text) {
  auto whole = FromText(text);
  ASSERT_NE(whole, nullptr);
  // OpenBLAS's thread count as splits[0] sets it for a batch it does not cut.
  whole->SetComputeThreads(2, BLAS_THREADS);
  const std::vector<Tensor> params = whole->InitialValues(3);
  // One split model per thread count, through every batch size in turn: its
  // buffers (slices, gathered batch products) are resized between sizes.
  std::vector<std::unique_ptr<Model>> splits;
  for (int threads : {2, 3}) {
    splits.push_back(FromText(text));
    ASSERT_NE(splits.back(), nullptr);
    splits.back()->SetComputeThreads(threads, SPLIT_BATCH);
  }
  for (int64_t n : {16, 50, 37}) {
    const Dataset batch = SineBatch(n, whole->input_shape(), 5, 0);
    std::vector<Tensor> expected;
    auto expected_loss = whole->ComputeGradients(Pointers(params), batch, 21, &expected);
    ASSERT_TRUE(expected_loss.ok());
    const auto expected_eval = whole->Evaluate(Pointers(params), batch);
    ASSERT_TRUE(expected_eval.ok());
    for (int t = 0; t < 2; ++t) {
      const int threads = t + 2;
      SCOPED_TRACE(absl::StrCat("batch ", n, ", ", threads, " threads"));
      Model* split = splits[t].get();
      std::vector<Tensor> grads;
      for (int repeat = 0; repeat < 2; ++repeat) {  // buffers reused the second time
        auto loss = split->ComputeGradients(Pointers(params), batch, 21, &grads);
        ASSERT_TRUE(loss.ok()) << loss.status();
        EXPECT_NEAR(*loss, *expected_loss, 1e-5 * std::fabs(*expected_loss));
        EXPECT_LT(MaxRelativeDifference(expected, grads), 1e-5);
      }
      // With a GradientReady each variable is combined when the last slice is
      // past its layer, and reported then, final: the same gradients.
      for (int repeat = 0; repeat < 2; ++repeat) {
        std::mutex mu;
        std::vector<size_t> order;
        std::vector<Tensor> seen(params.size());
        auto loss = split->ComputeGradients(Pointers(params), batch, 21, &grads, [&](size_t v) {
          std::lock_guard<std::mutex> lock(mu);
          order.push_back(v);
          seen[v] = grads[v];
        });
        ASSERT_TRUE(loss.ok()) << loss.status();
        EXPECT_NEAR(*loss, *expected_loss, 1e-5 * std::fabs(*expected_loss));
        EXPECT_LT(MaxRelativeDifference(expected, grads), 1e-5);
        std::vector<size_t> want(params.size());
        for (size_t v = 0; v < want.size(); ++v) want[v] = want.size() - 1 - v;
        ASSERT_EQ(order.size(), params.size());
        for (size_t k = 0; k < order.size(); ++k) {
          EXPECT_EQ(order[k] / 2, want[k] / 2) << k;  // layer by layer from the last
        }
        for (size_t v = 0; v < grads.size(); ++v) EXPECT_EQ(seen[v].span(), grads[v].span()) << v;
      }
      // Another dropout seed gives other gradients: the comparison can fail.
      ASSERT_TRUE(split->ComputeGradients(Pointers(params), batch, 22, &grads).ok());
      EXPECT_GT(MaxRelativeDifference(expected, grads), 1e-3);
      auto eval = split->Evaluate(Pointers(params), batch);
      ASSERT_TRUE(eval.ok());
      EXPECT_EQ(eval->count, n);
      EXPECT_EQ(eval->correct, expected_eval->correct);
      EXPECT_NEAR(eval->loss_sum, expected_eval->loss_sum, 1e-5 * expected_eval->loss_sum);
    }
  }
  // A batch too small to cut, after the split calls: the layers leave their
  // groups and compute alone, exactly as the whole model does.
  const Dataset small = SineBatch(10, whole->input_shape(), 5, 0);
  std::vector<Tensor> expected, grads;
  ASSERT_TRUE(whole->ComputeGradients(Pointers(params), small, 21, &expected).ok());
  ASSERT_TRUE(splits[0]->ComputeGradients(Pointers(params), small, 21, &grads).ok());
  EXPECT_EQ(MaxRelativeDifference(expected, grads), 0.0);
}

TEST(ModelSplitTest, SplitBatchGivesTheWholeBatchGradients) {
  ExpectSplitGivesTheWholeBatchGradients(kSplitNet);
}

TEST(ModelSplitTest, SharedDenseProductsGiveTheWholeBatchGradients) {
  auto model = FromText(kSharedNet);
  ASSERT_NE(model, nullptr);
  std::vector<std::string> shared;
  for (const auto& layer : model->layers()) {
    if (layer->uses_slice_group()) shared.push_back(layer->name());
  }
  EXPECT_EQ(shared, (std::vector<std::string>{"fc0", "fc1"}));
  ExpectSplitGivesTheWholeBatchGradients(kSharedNet);
}

TEST(ModelSplitTest, SumAndMeanSquaredErrorCombineByTheirReduction) {
  for (const char* reduction : {"MEAN", "SUM"}) {
    SCOPED_TRACE(reduction);
    const std::string text = absl::StrCat(R"(
        name: "regress" input_shape: [6]
        layer { name: "h" dense { units: 7 } }
        layer { name: "relu" relu {} }
        layer { name: "out" dense { units: 3 } }
        loss { mean_squared_error { reduction: )", reduction, " } }");
    auto whole = FromText(text);
    auto split = FromText(text);
    ASSERT_NE(whole, nullptr);
    ASSERT_NE(split, nullptr);
    split->SetComputeThreads(2, SPLIT_BATCH);
    const std::vector<Tensor> params = whole->InitialValues(4);
    const Dataset batch = SineBatch(33, whole->input_shape(), 0, 3);
    std::vector<Tensor> expected, grads;
    auto expected_loss = whole->ComputeGradients(Pointers(params), batch, 1, &expected);
    auto loss = split->ComputeGradients(Pointers(params), batch, 1, &grads);
    ASSERT_TRUE(expected_loss.ok());
    ASSERT_TRUE(loss.ok());
    EXPECT_NEAR(*loss, *expected_loss, 1e-5 * std::fabs(*expected_loss));
    EXPECT_LT(MaxRelativeDifference(expected, grads), 1e-5);
  }
}

// Batch norm's statistics span the whole batch, and a batch under
// 2 * kMinSliceExamples is too small to cut: both run as BLAS_THREADS, bit for
// bit (the reference runs as BLAS_THREADS too: its products go to the same
// library, nn/gemm.h, with the same thread count).
TEST(ModelSplitTest, BatchNormAndSmallBatchesAreNotCut) {
  const std::string bn_net = R"(
      name: "bn" input_shape: [4]
      layer { name: "h" dense { units: 5 } }
      layer { name: "bn" batch_norm {} }
      layer { name: "out" dense { units: 3 } }
      loss { softmax_cross_entropy {} })";
  struct Case {
    std::string text;
    int64_t n;
  };
  for (const Case& c : {Case{bn_net, 40}, Case{kSplitNet, 2 * Model::kMinSliceExamples - 1}}) {
    auto whole = FromText(c.text);
    auto split = FromText(c.text);
    ASSERT_NE(whole, nullptr);
    ASSERT_NE(split, nullptr);
    whole->SetComputeThreads(2, BLAS_THREADS);
    split->SetComputeThreads(2, SPLIT_BATCH);
    const std::vector<Tensor> params = whole->InitialValues(6);
    const Dataset batch = SineBatch(c.n, whole->input_shape(), 3, 0);
    std::vector<Tensor> expected, grads;
    auto expected_loss = whole->ComputeGradients(Pointers(params), batch, 2, &expected);
    auto loss = split->ComputeGradients(Pointers(params), batch, 2, &grads);
    ASSERT_TRUE(expected_loss.ok());
    ASSERT_TRUE(loss.ok());
    EXPECT_EQ(*loss, *expected_loss);
    EXPECT_EQ(MaxRelativeDifference(expected, grads), 0.0);
  }
}

TEST(ModelSplitTest, RepeatedSplitStepsDoNotGrowTheHeap) {
  auto model = LoadExample("mnist_deep");
  ASSERT_NE(model, nullptr);
  model->SetComputeThreads(2, SPLIT_BATCH);
  const Dataset batch = SineBatch(20, model->input_shape(), 10, 0);
  EXPECT_EQ(HeapGrowthOverSteps(model.get(), model->InitialValues(2), batch, 3), 0);
}

}  // namespace
}  // namespace tessera
