#include "data/batch_pipeline.h"

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "data/random.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

// Records "0", "1", ... "n-1"; optionally a source error after `fail_after`.
class CountingSource final : public RecordSource {
 public:
  explicit CountingSource(int n, int fail_after = -1) : n_(n), fail_after_(fail_after) {}
  absl::StatusOr<bool> Next(std::string* record) override {
    if (next_ == fail_after_) return absl::DataLossError("shard-7: record at byte offset 99");
    if (next_ == n_) return false;
    *record = absl::StrCat(next_++);
    return true;
  }

 private:
  const int n_;
  const int fail_after_;
  int next_ = 0;
};

// Writes the record's number into every float; label = number % 10. Refuses
// the numbers in `bad`. Sleeps a little, differently per record, so threads
// finish out of order.
class NumberDecoder final : public ExampleDecoder {
 public:
  NumberDecoder(std::set<int> bad, std::map<int, uint64_t>* seeds, absl::Mutex* mu)
      : bad_(std::move(bad)), seeds_(seeds), mu_(mu) {}
  absl::Status Decode(absl::string_view record, uint64_t seed, absl::Span<float> input,
                      int32_t* label) override {
    int number = 0;
    if (!absl::SimpleAtoi(record, &number)) return absl::InvalidArgumentError("not a number");
    absl::SleepFor(absl::Microseconds((number * 37) % 500));
    if (seeds_ != nullptr) {
      absl::MutexLock lock(mu_);
      (*seeds_)[number] = seed;
    }
    if (bad_.count(number)) return absl::InvalidArgumentError(absl::StrCat("record ", number, " is bad"));
    for (float& x : input) x = static_cast<float>(number);
    *label = number % 10;
    return absl::OkStatus();
  }

 private:
  const std::set<int> bad_;
  std::map<int, uint64_t>* seeds_;
  absl::Mutex* mu_;
};

BatchPipelineOptions Options(int64_t batch_size = 8) {
  BatchPipelineOptions options;
  options.batch_size = batch_size;
  options.example_shape = {2, 3};
  options.decode_threads = 3;
  options.prefetch_batches = 3;
  options.seed = 11;
  return options;
}

BatchPipeline::DecoderFactory Factory(std::set<int> bad = {},
                                      std::map<int, uint64_t>* seeds = nullptr,
                                      absl::Mutex* mu = nullptr) {
  return [=] { return std::make_unique<NumberDecoder>(bad, seeds, mu); };
}

// Every batch, as the numbers of its rows (checking each row is uniform).
std::vector<std::vector<int>> Drain(BatchPipeline* pipeline, absl::Status* end = nullptr) {
  std::vector<std::vector<int>> out;
  Dataset batch;
  while (true) {
    absl::StatusOr<bool> more = pipeline->Next(&batch);
    if (end != nullptr) *end = more.status();
    if (!more.ok() || !*more) break;
    std::vector<int> rows;
    EXPECT_EQ(batch.inputs.shape(), (Shape{batch.size(), 2, 3}));
    EXPECT_EQ(batch.labels.size(), static_cast<size_t>(batch.size()));
    for (int64_t r = 0; r < batch.size(); ++r) {
      const int number = static_cast<int>(batch.inputs.data()[r * 6]);
      for (int i = 0; i < 6; ++i) EXPECT_EQ(batch.inputs.data()[r * 6 + i], number);
      EXPECT_EQ(batch.labels[r], number % 10);
      rows.push_back(number);
    }
    out.push_back(rows);
  }
  return out;
}

TEST(BatchPipelineTest, BatchesAreInRecordOrderWhateverTheThreadTiming) {
  auto pipeline = BatchPipeline::Create(std::make_unique<CountingSource>(50), Factory(), Options());
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  std::vector<std::vector<int>> batches = Drain(pipeline->get());
  ASSERT_EQ(batches.size(), 7u);  // 6 full batches and the last 2 records
  for (size_t b = 0; b < batches.size(); ++b) {
    ASSERT_EQ(batches[b].size(), b < 6 ? 8u : 2u);
    for (size_t r = 0; r < batches[b].size(); ++r) EXPECT_EQ(batches[b][r], static_cast<int>(b * 8 + r));
  }
  EXPECT_EQ((*pipeline)->bad_records(), 0);
}

TEST(BatchPipelineTest, RecordKIsDecodedWithItsOwnSeed) {
  std::map<int, uint64_t> seeds;
  absl::Mutex mu;
  auto pipeline = BatchPipeline::Create(std::make_unique<CountingSource>(20),
                                        Factory({}, &seeds, &mu), Options());
  ASSERT_TRUE(pipeline.ok());
  Drain(pipeline->get());
  ASSERT_EQ(seeds.size(), 20u);
  for (const auto& [k, seed] : seeds) EXPECT_EQ(seed, MixSeed(11, k, 0)) << k;
}

TEST(BatchPipelineTest, RefusedRecordsAreSkippedAndBatchesStayFull) {
  auto pipeline = BatchPipeline::Create(std::make_unique<CountingSource>(50),
                                        Factory({5, 17}), Options());
  ASSERT_TRUE(pipeline.ok());
  std::vector<std::vector<int>> batches = Drain(pipeline->get());
  std::multiset<int> seen;
  for (size_t b = 0; b < batches.size(); ++b) {
    if (b + 1 < batches.size()) {
      EXPECT_EQ(batches[b].size(), 8u) << b;
    }
    seen.insert(batches[b].begin(), batches[b].end());
  }
  EXPECT_EQ(seen.size(), 48u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen.count(i), (i == 5 || i == 17) ? 0u : 1u) << i;
  EXPECT_EQ((*pipeline)->bad_records(), 2);
}

TEST(BatchPipelineTest, ARefusedRecordEndsThePipelineUnlessSkipping) {
  BatchPipelineOptions options = Options();
  options.skip_bad_records = false;
  auto pipeline = BatchPipeline::Create(std::make_unique<CountingSource>(50), Factory({20}), options);
  ASSERT_TRUE(pipeline.ok());
  absl::Status end;
  std::vector<std::vector<int>> batches = Drain(pipeline->get(), &end);
  EXPECT_EQ(end.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(end.message(), "record 20 is bad");
  EXPECT_LE(batches.size(), 2u);  // never the batch holding record 20
}

TEST(BatchPipelineTest, ASourceErrorComesAfterTheBatchesReadBeforeIt) {
  auto pipeline = BatchPipeline::Create(std::make_unique<CountingSource>(50, 19), Factory(), Options());
  ASSERT_TRUE(pipeline.ok());
  absl::Status end;
  std::vector<std::vector<int>> batches = Drain(pipeline->get(), &end);
  EXPECT_EQ(end.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(end.message(), "shard-7: record at byte offset 99");
  int rows = 0;
  for (const auto& b : batches) rows += static_cast<int>(b.size());
  EXPECT_EQ(rows, 19);
}

// The decoder of record 0 moves the fake clock on by 5 s before it finishes,
// while Next() waits for that batch: the wait is exactly those 5 s.
class SlowFirstDecoder final : public ExampleDecoder {
 public:
  explicit SlowFirstDecoder(FakeClock* clock) : clock_(clock) {}
  absl::Status Decode(absl::string_view record, uint64_t, absl::Span<float> input,
                      int32_t* label) override {
    if (record == "0") clock_->Advance(absl::Seconds(5));
    for (float& x : input) x = 0;
    *label = 0;
    return absl::OkStatus();
  }

 private:
  FakeClock* clock_;
};

TEST(BatchPipelineTest, MeasuresHowLongNextWaited) {
  FakeClock clock;
  BatchPipelineOptions options = Options(1);
  options.decode_threads = 1;
  options.prefetch_batches = 1;
  options.clock = &clock;
  auto pipeline = BatchPipeline::Create(
      std::make_unique<CountingSource>(2),
      [&] { return std::make_unique<SlowFirstDecoder>(&clock); }, options);
  ASSERT_TRUE(pipeline.ok());
  Dataset batch;
  ASSERT_TRUE(*(*pipeline)->Next(&batch));
  // Either Next() began before the decode finished (waited 5 s) or after it
  // (waited 0 s); in both cases the clock moved exactly once.
  const absl::Duration first = (*pipeline)->last_wait();
  EXPECT_TRUE(first == absl::Seconds(5) || first == absl::ZeroDuration()) << first;
  ASSERT_TRUE(*(*pipeline)->Next(&batch));
  EXPECT_EQ((*pipeline)->last_wait(), absl::ZeroDuration());
  EXPECT_EQ((*pipeline)->total_wait(), first);
  EXPECT_FALSE(*(*pipeline)->Next(&batch));
}

TEST(BatchPipelineTest, BadOptionsAreInvalidArgument) {
  BatchPipelineOptions options = Options();
  options.batch_size = 0;
  EXPECT_EQ(BatchPipeline::Create(std::make_unique<CountingSource>(1), Factory(), options)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  options = Options();
  options.example_shape = {};
  EXPECT_EQ(BatchPipeline::Create(std::make_unique<CountingSource>(1), Factory(), options)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchPipeline::Create(nullptr, Factory(), Options()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BatchPipelineTest, StopsCleanlyWithBatchesStillInTheMaking) {
  auto pipeline = BatchPipeline::Create(std::make_unique<CountingSource>(1000000), Factory(), Options());
  ASSERT_TRUE(pipeline.ok());
  Dataset batch;
  ASSERT_TRUE(*(*pipeline)->Next(&batch));
  pipeline->reset();  // joins the threads while they decode
  SUCCEED();
}

}  // namespace
}  // namespace tessera
