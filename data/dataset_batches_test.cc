#include "data/dataset_batches.h"

#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

Dataset Numbered(int64_t n) {
  Dataset d;
  d.inputs = Tensor({n, 2});
  for (int64_t i = 0; i < n; ++i) {
    d.inputs[2 * i] = static_cast<float>(i);
    d.inputs[2 * i + 1] = static_cast<float>(-i);
    d.labels.push_back(static_cast<int32_t>(i % 3));
  }
  return d;
}

TEST(OnePassTest, EveryExampleOnceInOrderWithASmallerLastBatch) {
  const Dataset d = Numbered(5);
  auto pass = OnePass::Create(&d, 2);
  ASSERT_TRUE(pass.ok()) << pass.status();
  Dataset batch;
  std::vector<int64_t> sizes;
  std::vector<float> firsts;
  while (true) {
    absl::StatusOr<bool> more = (*pass)->Next(&batch);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    sizes.push_back(batch.size());
    for (int64_t i = 0; i < batch.size(); ++i) {
      firsts.push_back(batch.inputs[2 * i]);
      EXPECT_EQ(batch.labels[i], static_cast<int32_t>(batch.inputs[2 * i]) % 3);
    }
  }
  EXPECT_EQ(sizes, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(firsts, (std::vector<float>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(*(*pass)->Next(&batch));  // stays over
  EXPECT_EQ(OnePass::Create(&d, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OnePassTest, RegressionTargetsFollowTheirInputs) {
  Dataset d;
  d.inputs = Tensor({3, 1}, {1, 2, 3});
  d.targets = Tensor({3, 1}, {10, 20, 30});
  auto pass = OnePass::Create(&d, 2);
  ASSERT_TRUE(pass.ok());
  Dataset batch;
  ASSERT_TRUE(*(*pass)->Next(&batch));
  ASSERT_TRUE(*(*pass)->Next(&batch));
  ASSERT_EQ(batch.size(), 1);
  EXPECT_TRUE(batch.labels.empty());
  EXPECT_EQ(batch.targets[0], 30);
}

TEST(TrainingBatchesTest, TheBatchesOfTheIteratorAndTheCopyTimeAsWait) {
  const Dataset d = Numbered(12);
  BatchIteratorOptions options;
  options.batch_size = 3;
  options.num_parts = 2;
  options.part = 1;
  options.seed = 5;
  auto iterator = BatchIterator::Create(&d, options);
  ASSERT_TRUE(iterator.ok());
  FakeClock clock;
  auto stream = TrainingBatches::Create(&d, options, &clock);
  ASSERT_TRUE(stream.ok());
  Dataset want, got;
  for (int i = 0; i < 5; ++i) {  // past an epoch boundary
    iterator->Next(&want);
    absl::StatusOr<bool> more = (*stream)->Next(&got);
    ASSERT_TRUE(more.ok() && *more);
    EXPECT_EQ(got.labels, want.labels);
    EXPECT_EQ(got.inputs.span()[0], want.inputs.span()[0]);
  }
  EXPECT_EQ((*stream)->last_wait(), absl::ZeroDuration());  // the fake clock stood still
}

}  // namespace
}  // namespace tessera
