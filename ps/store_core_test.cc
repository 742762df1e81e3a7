#include "ps/store_core.h"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/error_kind.h"
#include "gtest/gtest.h"
#include "ps/store_errors.h"

namespace tessera {
namespace {

constexpr char kFingerprint[] = "00000000000000dd";

CreateVariablesRequest TwoBlocks(UpdateMode mode = ASYNC) {
  CreateVariablesRequest request;
  request.set_fingerprint(kFingerprint);
  request.set_num_workers(2);
  request.set_holds_global_step(true);
  request.set_update_mode(mode);
  request.set_sync_timeout_secs(30);
  request.mutable_optimizer()->set_learning_rate(0.5f);
  request.mutable_optimizer()->mutable_momentum()->set_momentum(0.9f);
  for (const char* name : {"w", "b"}) {
    BlockSpec* spec = request.add_blocks();
    spec->set_name(name);
    spec->set_variable(name);
    spec->mutable_shape()->add_dim(3);
  }
  return request;
}

ChunkHeader First(ChunkKind kind, int worker_task = 1) {
  ChunkHeader header;
  header.set_kind(kind);
  header.set_fingerprint(kFingerprint);
  header.set_worker_task(worker_task);
  return header;
}

google::protobuf::RepeatedPtrField<std::string> Names(std::vector<std::string> names) {
  google::protobuf::RepeatedPtrField<std::string> out;
  for (std::string& name : names) *out.Add() = std::move(name);
  return out;
}

class StoreCoreTest : public ::testing::Test {
 protected:
  StoreCoreTest() : core_(&clock_, 42) {}
  FakeClock clock_;
  StoreCore core_;
};

TEST_F(StoreCoreTest, NothingBeforeCreateVariables) {
  EXPECT_EQ(core_.incarnation(), 42u);
  EXPECT_FALSE(core_.ready());
  EXPECT_EQ(core_.progress(), nullptr);
  EXPECT_EQ(core_.waiter(), nullptr);
  EXPECT_TRUE(core_.Blocks().empty());
  EXPECT_TRUE(core_.SlotNames().empty());
  EXPECT_EQ(core_.ReportedGlobalStep(), -1);
  for (ChunkKind kind : {GRADIENT, ASSIGN}) {
    const absl::Status status = core_.AdmitPush(First(kind)).status();
    EXPECT_EQ(status.message(), kNotInitializedMessage);
    EXPECT_EQ(GetErrorKind(status), ErrorKind::kNotInitialized);
  }
  EXPECT_EQ(GetErrorKind(core_.ResolveBlocks(kFingerprint, Names({})).status()),
            ErrorKind::kNotInitialized);
}

TEST_F(StoreCoreTest, AdmitsAssignBeforeReadyAndGradientAfter) {
  ASSERT_TRUE(core_.CreateVariables(TwoBlocks()).ok());
  auto assign = core_.AdmitPush(First(ASSIGN));
  ASSERT_TRUE(assign.ok()) << assign.status();
  EXPECT_NE(assign->policy, nullptr);
  EXPECT_EQ(assign->optimizer->SlotNames(), std::vector<std::string>{"momentum"});
  EXPECT_EQ(core_.SlotNames(), std::vector<std::string>{"momentum"});
  EXPECT_EQ(GetErrorKind(core_.AdmitPush(First(GRADIENT)).status()), ErrorKind::kNotInitialized);

  core_.BlockInitialized();
  EXPECT_FALSE(core_.ready());
  core_.BlockInitialized();
  EXPECT_TRUE(core_.ready());
  EXPECT_TRUE(core_.AdmitPush(First(GRADIENT)).ok());

  ChunkHeader other = First(GRADIENT);
  other.set_fingerprint("ffff");
  const absl::Status mismatch = core_.AdmitPush(other).status();
  EXPECT_EQ(GetErrorKind(mismatch), ErrorKind::kFingerprintMismatch);
  EXPECT_EQ(mismatch.message(),
            "model fingerprint 'ffff' does not match this ps's fingerprint 00000000000000dd "
            "(every task must use the same model and cluster file)");
  const absl::Status task = core_.AdmitPush(First(GRADIENT, 2)).status();
  EXPECT_EQ(task.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(task.message(), "worker_task 2 is out of range [0, 2)");
}

TEST_F(StoreCoreTest, FindsAndResolvesBlocksInCreationOrder) {
  ASSERT_TRUE(core_.CreateVariables(TwoBlocks()).ok());
  auto missing = core_.FindBlock("x");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no block named 'x' on this ps");
  ASSERT_TRUE(core_.FindBlock("b").ok());
  EXPECT_EQ((*core_.FindBlock("b"))->name, "b");

  core_.BlockInitialized();
  core_.BlockInitialized();
  auto all = core_.ResolveBlocks(kFingerprint, Names({}));
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0]->name, "w");
  EXPECT_EQ((*all)[1]->name, "b");
  auto named = core_.ResolveBlocks(kFingerprint, Names({"b", "w"}));
  ASSERT_TRUE(named.ok());
  EXPECT_EQ((*named)[0]->name, "b");
  EXPECT_EQ(core_.ResolveBlocks(kFingerprint, Names({"w", "x"})).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(GetErrorKind(core_.ResolveBlocks("ffff", Names({})).status()),
            ErrorKind::kFingerprintMismatch);
}

TEST_F(StoreCoreTest, GlobalStepMovesWithPushes) {
  ASSERT_TRUE(core_.CreateVariables(TwoBlocks()).ok());
  EXPECT_EQ(core_.ReportedGlobalStep(), 0);
  core_.GradientPushDone(1, 0, /*increment_global_step=*/true, /*dropped=*/false);
  EXPECT_EQ(core_.ReportedGlobalStep(), 1);
  core_.GradientPushDone(0, 1, /*increment_global_step=*/false, /*dropped=*/true);
  EXPECT_EQ(core_.ReportedGlobalStep(), 1);
  const auto workers = core_.progress()->Workers({});
  EXPECT_EQ(workers.at(1).pushes, 1);
  EXPECT_EQ(workers.at(0).pushes_dropped, 1);

  core_.AssignPushDone(40);
  EXPECT_EQ(core_.ReportedGlobalStep(), 40);
  core_.AssignPushDone(-1);  // an ASSIGN without a step leaves it
  EXPECT_EQ(core_.ReportedGlobalStep(), 40);
}

TEST_F(StoreCoreTest, ModeSettings) {
  ASSERT_TRUE(core_.CreateVariables(TwoBlocks()).ok());
  EXPECT_EQ(core_.waiter(), nullptr);  // ASYNC pulls never wait
  EXPECT_EQ(core_.sync_timeout(), absl::Seconds(30));

  StoreCore sync(&clock_, 43);
  ASSERT_TRUE(sync.CreateVariables(TwoBlocks(SYNC)).ok());
  EXPECT_NE(sync.waiter(), nullptr);
  EXPECT_EQ(sync.progress()->options().replicas_to_aggregate, 2);
}

TEST_F(StoreCoreTest, CountsValuesAndSlots) {
  StoreSummary summary;
  core_.FillCounts(&summary);
  EXPECT_FALSE(summary.created);
  EXPECT_EQ(summary.global_step, -1);
  ASSERT_TRUE(core_.CreateVariables(TwoBlocks()).ok());
  core_.BlockInitialized();
  core_.FillCounts(&summary);
  EXPECT_TRUE(summary.created);
  EXPECT_FALSE(summary.ready);
  EXPECT_EQ(summary.fingerprint, kFingerprint);
  EXPECT_EQ(summary.num_blocks, 2);
  EXPECT_EQ(summary.initialized_blocks, 1);
  EXPECT_EQ(summary.bytes_held, 2 * 3 * 4 * 2);  // two blocks of 3 floats, values + momentum
  EXPECT_EQ(summary.global_step, 0);
}

TEST_F(StoreCoreTest, KeepsAtMostFourIdleScratchBuffers) {
  EXPECT_TRUE(core_.TakeScratch().empty());
  core_.ReturnScratch({});  // an empty buffer is not kept
  EXPECT_TRUE(core_.TakeScratch().empty());
  for (int i = 0; i < 6; ++i) core_.ReturnScratch(std::vector<float>(8, static_cast<float>(i)));
  int kept = 0;
  while (!core_.TakeScratch().empty()) ++kept;
  EXPECT_EQ(kept, static_cast<int>(StoreCore::kMaxIdleScratch));
}

// The chief's CreateVariables makes the blocks of the whole model (tens or
// hundreds of MB for real ones) without the core's lock: status (FillCounts)
// and pushes and pulls (AdmitPush, ResolveBlocks) answer meanwhile, seeing no
// variables yet. Found by test/overload.py: with 16 workers on a loaded
// machine, the ps's status waited 2-7 s for mnist_deep's 40 MB.
TEST_F(StoreCoreTest, AnswersWhileCreateVariablesMakesTheBlocks) {
  absl::Notification made, release;
  core_.SetBlocksMadeHookForTest([&] {
    made.Notify();
    release.WaitForNotification();
  });
  absl::StatusOr<CreateVariablesResponse> created = absl::UnknownError("not run");
  std::thread creator([&] { created = core_.CreateVariables(TwoBlocks()); });
  made.WaitForNotification();
  StoreSummary during;
  absl::Status admit, resolve;
  absl::Notification answered;
  std::thread observer([&] {
    core_.FillCounts(&during);
    admit = core_.AdmitPush(First(ASSIGN)).status();
    resolve = core_.ResolveBlocks(kFingerprint, Names({})).status();
    answered.Notify();
  });
  // A hang detector, not a timing expectation: holding the core's lock while
  // the blocks are made, they would wait until `release`.
  const bool answered_while_making = answered.WaitForNotificationWithTimeout(absl::Seconds(20));
  release.Notify();
  observer.join();
  creator.join();
  EXPECT_TRUE(answered_while_making) << "the core's lock was held while the blocks were made";
  EXPECT_FALSE(during.created);
  EXPECT_EQ(during.num_blocks, 0);
  EXPECT_EQ(GetErrorKind(admit), ErrorKind::kNotInitialized) << admit;
  EXPECT_EQ(GetErrorKind(resolve), ErrorKind::kNotInitialized) << resolve;
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created());
  StoreSummary after;
  core_.FillCounts(&after);
  EXPECT_TRUE(after.created);
  EXPECT_EQ(after.num_blocks, 2);
  EXPECT_TRUE(core_.AdmitPush(First(ASSIGN)).ok());
}

// A second CreateVariables (a chief retrying after its deadline) while the
// first makes the blocks waits for it and then answers as for a repeat: the
// blocks are made once.
TEST_F(StoreCoreTest, ConcurrentCreateVariablesMakesTheBlocksOnce) {
  absl::Notification made, release;
  int makes = 0;  // written by the hook, read after both calls returned
  core_.SetBlocksMadeHookForTest([&] {
    ++makes;
    made.Notify();
    release.WaitForNotification();
  });
  absl::StatusOr<CreateVariablesResponse> first = absl::UnknownError("not run");
  absl::StatusOr<CreateVariablesResponse> second = absl::UnknownError("not run");
  absl::StatusOr<CreateVariablesResponse> other = absl::UnknownError("not run");
  std::thread first_call([&] { first = core_.CreateVariables(TwoBlocks()); });
  made.WaitForNotification();
  std::thread second_call([&] { second = core_.CreateVariables(TwoBlocks()); });
  CreateVariablesRequest other_model = TwoBlocks();
  other_model.set_fingerprint("ffff");
  std::thread other_call([&] { other = core_.CreateVariables(other_model); });
  release.Notify();
  first_call.join();
  second_call.join();
  other_call.join();
  EXPECT_EQ(makes, 1);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(first->created());
  EXPECT_FALSE(second->created());
  EXPECT_EQ(GetErrorKind(other.status()), ErrorKind::kFingerprintMismatch) << other.status();
  EXPECT_EQ(core_.Blocks().size(), 2u);
}

// Momentum holds one slot per element and SYNC a buffer per pushing worker
// (2 here), so each 3-float block holds 12 bytes of values, 12 of slot and 24
// of SYNC buffers: 96 for both.
TEST(StoreCoreLimitsTest, ARequestOverACapCreatesNothingAndAFittingOneThenSucceeds) {
  FakeClock clock;
  PsLimits limits;
  limits.max_bytes_held = 71;
  StoreCore core(&clock, 1, limits);
  auto refused = core.CreateVariables(TwoBlocks(SYNC));
  EXPECT_EQ(refused.status(),
            absl::ResourceExhaustedError(
                "CreateVariables needs 96 bytes (values, optimizer slots and SYNC buffers of 2 "
                "blocks; the largest, 'w' of shape [3], 48 bytes); --max_bytes_held is 71 and 0 "
                "bytes are held"));
  StoreSummary summary;
  core.FillCounts(&summary);
  EXPECT_FALSE(summary.created);
  EXPECT_EQ(summary.num_blocks, 0);
  EXPECT_EQ(summary.bytes_held, 0);
  EXPECT_EQ(core.progress(), nullptr);
  // Without the SYNC buffers the same blocks fit (48 bytes), and are held as counted.
  auto created = core.CreateVariables(TwoBlocks(ASYNC));
  ASSERT_TRUE(created.ok()) << created.status();
  core.FillCounts(&summary);
  EXPECT_EQ(summary.num_blocks, 2);
  EXPECT_EQ(summary.bytes_held, 48);
}

TEST(StoreCoreLimitsTest, BlockCountAndBlockSizeCaps) {
  FakeClock clock;
  PsLimits limits;
  limits.max_blocks = 1;
  StoreCore few(&clock, 1, limits);
  EXPECT_EQ(few.CreateVariables(TwoBlocks()).status(),
            absl::ResourceExhaustedError(
                "CreateVariables asks for 2 blocks; --max_blocks is 1 and 0 blocks are held"));
  limits = PsLimits();
  limits.max_block_bytes = 8;
  StoreCore small(&clock, 1, limits);
  EXPECT_EQ(small.CreateVariables(TwoBlocks()).status(),
            absl::ResourceExhaustedError("CreateVariables: block 'w' of shape [3] has 12 bytes of "
                                         "values; --max_block_bytes is 8"));
  limits.max_block_bytes = 12;
  StoreCore fits(&clock, 1, limits);
  EXPECT_TRUE(fits.CreateVariables(TwoBlocks()).ok());
}

}  // namespace
}  // namespace tessera
