#include "ps/training_progress.h"

#include <atomic>
#include <string>

#include "common/clock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TrainingProgressOptions Stale(int workers, int staleness) {
  TrainingProgressOptions o;
  o.mode = STALE;
  o.num_workers = workers;
  o.staleness = staleness;
  o.worker_timeout = absl::Seconds(60);
  return o;
}

void Pushes(TrainingProgress* p, int worker, int n) {
  for (int i = 0; i < n; ++i) p->RecordPush(worker, 0, false);
}

TEST(StalenessGateTest, WorkerAtStepCWaitsForEveryLiveWorkerAtCMinusS) {
  FakeClock clock;
  TrainingProgress p(Stale(3, 2), &clock);
  Pushes(&p, 0, 3);
  Pushes(&p, 1, 1);
  Pushes(&p, 2, 2);
  std::string blocking;
  // Worker 0 has pushed 3 steps: needs every other worker at >= 3 - 2 = 1.
  EXPECT_TRUE(p.StaleGateOpen(0, &blocking));
  Pushes(&p, 0, 1);  // 4: needs >= 2; worker 1 has 1
  EXPECT_FALSE(p.StaleGateOpen(0, &blocking));
  EXPECT_EQ(blocking,
            "worker 0 at step 4 (staleness 2) waits for worker 1 (step 1, last push 0.0 s ago "
            "at global step 0)");
  EXPECT_TRUE(p.StaleGateOpen(1, nullptr));
  const auto workers = p.Workers({});
  EXPECT_TRUE(workers.at(1).holding_back);
  EXPECT_FALSE(workers.at(2).holding_back);
  Pushes(&p, 1, 1);
  EXPECT_TRUE(p.StaleGateOpen(0, nullptr));
}

TEST(StalenessGateTest, ZeroStalenessIsLockStep) {
  FakeClock clock;
  TrainingProgress p(Stale(2, 0), &clock);
  EXPECT_TRUE(p.StaleGateOpen(0, nullptr));
  Pushes(&p, 0, 1);
  EXPECT_FALSE(p.StaleGateOpen(0, nullptr));  // worker 1 has not pushed step 0
  EXPECT_TRUE(p.StaleGateOpen(1, nullptr));
  Pushes(&p, 1, 1);
  EXPECT_TRUE(p.StaleGateOpen(0, nullptr));
  EXPECT_TRUE(p.StaleGateOpen(1, nullptr));
}

TEST(StalenessGateTest, SilentWorkerIsExcludedAfterTimeoutAndRejoinsAtTheSlowestStep) {
  FakeClock clock;
  TrainingProgress p(Stale(3, 0), &clock);
  Pushes(&p, 0, 1);
  Pushes(&p, 1, 1);
  Pushes(&p, 2, 1);
  // Worker 2 dies; 0 and 1 go on in lock step while it is still live...
  Pushes(&p, 0, 1);
  Pushes(&p, 1, 1);
  std::string blocking;
  EXPECT_FALSE(p.StaleGateOpen(0, &blocking));
  EXPECT_NE(blocking.find("waits for worker 2 (step 1"), std::string::npos) << blocking;
  clock.Advance(absl::Seconds(59));
  p.RecordPull(0);
  p.RecordPull(1);
  EXPECT_FALSE(p.StaleGateOpen(0, nullptr));
  // ...and are no longer held back once it has been silent for worker_timeout.
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(p.StaleGateOpen(0, nullptr));
  auto workers = p.Workers({});
  EXPECT_TRUE(workers.at(2).missing);
  EXPECT_FALSE(workers.at(0).missing);
  EXPECT_NE(p.DescribeWorker(2).find("missing: silent for 60.0 s"), std::string::npos);
  Pushes(&p, 0, 3);
  Pushes(&p, 1, 3);  // both at 5
  // Worker 2 comes back (same task): it rejoins at step 5, not 1.
  p.RecordPull(2);
  workers = p.Workers({});
  EXPECT_EQ(workers.at(2).pushes, 5);
  EXPECT_FALSE(workers.at(2).missing);
  EXPECT_TRUE(p.StaleGateOpen(2, nullptr));
  EXPECT_TRUE(p.StaleGateOpen(0, nullptr));
}

TEST(StalenessGateTest, DoneWorkersAreNotWaitedFor) {
  FakeClock clock;
  TrainingProgress p(Stale(2, 0), &clock);
  Pushes(&p, 0, 1);
  EXPECT_FALSE(p.StaleGateOpen(0, nullptr));
  EXPECT_EQ(p.RecordDone(1, 7), 1);
  EXPECT_TRUE(p.StaleGateOpen(0, nullptr));
}

TEST(SyncStepTest, GlobalStepAdvancesOncePerAggregatedStep) {
  FakeClock clock;
  TrainingProgressOptions o;
  o.mode = SYNC;
  o.num_workers = 3;
  o.replicas_to_aggregate = 2;
  TrainingProgress p(o, &clock);
  std::atomic<int64_t> global_step{0};
  using Verdict = SyncAccumulator::Verdict;
  EXPECT_EQ(p.CountSyncStep(1, 0, &global_step), Verdict::kAccumulate);
  EXPECT_EQ(p.CountSyncStep(1, 0, &global_step), Verdict::kDuplicate);
  EXPECT_EQ(global_step.load(), 0);
  EXPECT_EQ(p.SyncStepContributors(), std::set<int>{1});
  EXPECT_EQ(p.NotIn({1}), (std::set<int>{0, 2}));
  EXPECT_EQ(p.CountSyncStep(0, 0, &global_step), Verdict::kAccumulate);
  EXPECT_EQ(global_step.load(), 1);
  // The backup's push of step 0 comes too late.
  EXPECT_EQ(p.CountSyncStep(2, 0, &global_step), Verdict::kStale);
  EXPECT_EQ(global_step.load(), 1);
}

}  // namespace
}  // namespace tessera
