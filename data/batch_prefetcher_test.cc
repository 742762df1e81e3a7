#include "data/batch_prefetcher.h"

#include <memory>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace tessera {
namespace {

Dataset Numbered(int64_t n) {
  Dataset d;
  d.inputs = Tensor({n, 1});
  for (int64_t i = 0; i < n; ++i) {
    d.inputs[i] = static_cast<float>(i);
    d.labels.push_back(static_cast<int32_t>(i));
  }
  return d;
}

BatchIterator MakeIterator(const Dataset* d) {
  BatchIteratorOptions o;
  o.batch_size = 7;
  o.num_parts = 3;
  o.part = 2;
  o.seed = 11;
  o.drop_remainder = false;
  absl::StatusOr<BatchIterator> it = BatchIterator::Create(d, o);
  EXPECT_TRUE(it.ok()) << it.status();
  return std::move(it).value();
}

TEST(BatchPrefetcherTest, SameBatchesAsTheIterator) {
  const Dataset d = Numbered(100);
  BatchIterator direct = MakeIterator(&d);
  BatchPrefetcher prefetcher(MakeIterator(&d));
  EXPECT_EQ(prefetcher.batches_per_epoch(), 5);  // 33 examples in part 2
  Dataset want, got;
  std::set<const float*> buffers;
  for (int step = 0; step < 50; ++step) {
    direct.Next(&want);
    prefetcher.Next(&got);
    ASSERT_EQ(got.inputs.shape(), want.inputs.shape()) << step;
    for (int64_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got.inputs[i], want.inputs[i]) << step;
      ASSERT_EQ(got.labels[i], want.labels[i]) << step;
    }
    if (got.size() == 7) buffers.insert(got.inputs.data());
  }
  // Full batches come from a handful of recycled buffers, not 40-odd fresh ones.
  EXPECT_LE(buffers.size(), 4u);
}

TEST(BatchPrefetcherTest, DestroysWhileTheProducerWaits) {
  const Dataset d = Numbered(30);
  auto prefetcher = std::make_unique<BatchPrefetcher>(MakeIterator(&d));
  Dataset batch;
  prefetcher->Next(&batch);
  prefetcher.reset();  // must not hang
  EXPECT_EQ(batch.size(), 7);
  auto unused = std::make_unique<BatchPrefetcher>(MakeIterator(&d));
  unused.reset();  // destroyed before any Next
}

}  // namespace
}  // namespace tessera
