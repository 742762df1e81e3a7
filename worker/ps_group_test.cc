#include "worker/ps_group.h"

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/bfloat16.h"
#include "common/clock.h"
#include "common/error_kind.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "worker/ps_group_test_util.h"

namespace tessera {
namespace {

class PsGroupTest : public TwoPsTest {
 protected:
  void SetUp() override {
    config_.mutable_optimizer()->set_learning_rate(0.5f);
    config_.mutable_optimizer()->mutable_momentum()->set_momentum(0.5f);
  }

  // Element i of variable v is 10 * v + i.
  static std::vector<Tensor> Initial() {
    std::vector<Tensor> values = Zeros();
    for (size_t v = 0; v < values.size(); ++v) {
      for (int64_t i = 0; i < values[v].size(); ++i) {
        values[v].span()[i] = static_cast<float>(10 * v + i);
      }
    }
    return values;
  }

  // After one step with a gradient of 2 everywhere: momentum's first step is
  // value - lr * grad = value - 1, on every block of both ps.
  static void ExpectOneMomentumStepOfTwo(const std::vector<Tensor>& values) {
    for (size_t v = 0; v < values.size(); ++v) {
      for (int64_t i = 0; i < values[v].size(); ++i) {
        EXPECT_EQ(values[v].span()[i], Initial()[v].span()[i] - 1) << v << " " << i;
      }
    }
  }

  // Initializes both ps, pushes a gradient of 1 for "w" (0 for "b") and
  // snapshots them with the momentum slot.
  absl::StatusOr<CheckpointContents> InitializeStepAndSnapshot(PsGroup* group) {
    RETURN_IF_ERROR(group->CreateAndInitialize(config_, Initial()).status());
    std::vector<Tensor> grads = Zeros();
    for (float& x : grads[0].span()) x = 1;
    RETURN_IF_ERROR(group->PushAll(grads, 0).status());
    return group->Snapshot({"momentum"});
  }
};

TEST_F(PsGroupTest, PlanIsSplitAcrossBothPs) {
  // The tests below mean something only if both ps hold a part of "w".
  ASSERT_EQ(plan_.num_ps, 2);
  EXPECT_FALSE(plan_.BlocksOn(0).empty());
  EXPECT_FALSE(plan_.BlocksOn(1).empty());
  EXPECT_GT(plan_.blocks.size(), 2u);
}

TEST_F(PsGroupTest, CreateNeedsOneConnectionPerPlannedPs) {
  absl::StatusOr<std::unique_ptr<PsGroup>> group =
      PsGroup::Create(variables_, plan_, PsGroupOptions(), ConnectAll({&ps0_}));
  EXPECT_EQ(group.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(group.status().message(), "placement plan is for 2 ps, there are connections to 1");
}

TEST_F(PsGroupTest, InitializesOncePullsAndPushes) {
  std::unique_ptr<PsGroup> group = NewGroup();
  absl::StatusOr<int> initialized = group->CreateAndInitialize(config_, Initial());
  ASSERT_TRUE(initialized.ok()) << initialized.status();
  EXPECT_EQ(*initialized, 2);
  initialized = group->CreateAndInitialize(config_, Initial());
  ASSERT_TRUE(initialized.ok()) << initialized.status();
  EXPECT_EQ(*initialized, 0);  // idempotent: both ps hold initialized values

  std::vector<Tensor> values = Zeros();
  absl::StatusOr<int64_t> step = group->PullAll(&values);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 0);
  EXPECT_EQ(Flat(values[0]), Flat(Initial()[0]));
  EXPECT_EQ(Flat(values[1]), Flat(Initial()[1]));
  EXPECT_EQ(group->incarnations(),
            (std::vector<uint64_t>{ps0_.incarnation(), ps1_.incarnation()}));

  const std::vector<Tensor> grads = Filled(2);
  step = group->PushAll(grads, 0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 1);
  EXPECT_EQ(group->last_chunks_dropped(), 0);
  step = group->PullAll(&values);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 1);
  ExpectOneMomentumStepOfTwo(values);
}

TEST_F(PsGroupTest, Bfloat16TransportRoundsTheTrainingTrafficOnly) {
  std::unique_ptr<PsGroup> group = NewGroup(0, 1, nullptr, BFLOAT16);
  // Values no bfloat16 holds: 8 significant bits are not enough for them.
  std::vector<Tensor> initial = Zeros();
  for (Tensor& t : initial) {
    for (int64_t i = 0; i < t.size(); ++i) t.span()[i] = 257.1f + 2.0f * static_cast<float>(i);
  }
  ASSERT_TRUE(group->CreateAndInitialize(config_, initial).ok());  // ASSIGN: float32, exact

  std::vector<Tensor> values = Zeros();
  ASSERT_TRUE(group->PullAll(&values).ok());  // not the training pull: exact
  EXPECT_EQ(Flat(values[0]), Flat(initial[0]));
  EXPECT_EQ(Flat(values[1]), Flat(initial[1]));
  absl::StatusOr<PsGroup::Pulled> pulled = group->PullAll(&values, 0);  // the training pull
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  for (size_t v = 0; v < values.size(); ++v) {
    for (int64_t i = 0; i < values[v].size(); ++i) {
      const float x = initial[v].span()[i];
      EXPECT_EQ(values[v].span()[i], Bfloat16ToFloat(FloatToBfloat16(x))) << v << " " << i;
      EXPECT_NE(values[v].span()[i], x) << v << " " << i;
    }
  }

  // The gradient arrives rounded; the ps updates its float32 values with it.
  std::vector<Tensor> grads = Filled(1.0f / 3.0f);
  ASSERT_TRUE(group->PushAll(grads, 0).ok());
  ASSERT_TRUE(group->PullAll(&values).ok());
  const float rounded = Bfloat16ToFloat(FloatToBfloat16(1.0f / 3.0f));
  ASSERT_NE(rounded, 1.0f / 3.0f);
  for (size_t v = 0; v < values.size(); ++v) {
    for (int64_t i = 0; i < values[v].size(); ++i) {
      // Momentum's first step: value - lr * grad.
      EXPECT_EQ(values[v].span()[i], initial[v].span()[i] - 0.5f * rounded) << v << " " << i;
    }
  }
}

TEST_F(PsGroupTest, SnapshotHoldsValuesSlotsAndGlobalStep) {
  std::unique_ptr<PsGroup> group = NewGroup();
  absl::StatusOr<CheckpointContents> snapshot = InitializeStepAndSnapshot(group.get());
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->metadata.global_step, 1);
  ASSERT_EQ(snapshot->variables.size(), 2u);
  const CheckpointVariable& w = snapshot->variables[0];
  EXPECT_EQ(w.name, "w");
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(w.value.span()[i], Initial()[0].span()[i] - 0.5f) << i;
    EXPECT_EQ(w.slots.at("momentum").span()[i], 1) << i;  // accumulated gradient
  }
  EXPECT_EQ(Flat(snapshot->variables[1].value), Flat(Initial()[1]));
}

TEST_F(PsGroupTest, RestartedPsIsNotInitializedUntilRestoredFromASnapshot) {
  std::unique_ptr<PsGroup> group = NewGroup();
  absl::StatusOr<CheckpointContents> saved = InitializeStepAndSnapshot(group.get());
  ASSERT_TRUE(saved.ok()) << saved.status();
  const uint64_t old_incarnation = ps1_.incarnation();

  ps1_.Restart();
  std::vector<Tensor> values = Zeros();
  absl::Status pulled = group->PullAll(&values).status();
  EXPECT_TRUE(IsNotInitializedError(pulled)) << pulled;
  EXPECT_EQ(pulled.message().substr(0, 27), "Pull to ps 1 at in-memory:1");

  absl::StatusOr<std::vector<int>> uninitialized = group->CreateVariables(config_);
  ASSERT_TRUE(uninitialized.ok()) << uninitialized.status();
  EXPECT_EQ(*uninitialized, std::vector<int>{1});
  EXPECT_NE(group->incarnations()[1], old_incarnation);
  EXPECT_EQ(group->incarnations()[1], ps1_.incarnation());
  ASSERT_TRUE(group->RestoreFromCheckpoint(1, *saved, {"momentum"}).ok());

  absl::StatusOr<int64_t> step = group->PullAll(&values);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 1);
  EXPECT_EQ(Flat(values[0]), Flat(saved->variables[0].value));
  absl::StatusOr<CheckpointContents> again = group->Snapshot({"momentum"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Flat(again->variables[0].slots.at("momentum")),
            Flat(saved->variables[0].slots.at("momentum")));
}

TEST_F(PsGroupTest, RestoreRejectsACheckpointWithoutTheModelsSlot) {
  std::unique_ptr<PsGroup> group = NewGroup();
  ASSERT_TRUE(group->CreateAndInitialize(config_, Initial()).ok());
  absl::StatusOr<CheckpointContents> saved = group->Snapshot({"momentum"});
  ASSERT_TRUE(saved.ok()) << saved.status();
  saved->variables[0].slots.clear();
  absl::Status restored = group->RestoreFromCheckpoint(0, *saved, {"momentum"});
  EXPECT_EQ(restored.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(restored.message().find("has no slot 'momentum'"), absl::string_view::npos)
      << restored;
}

TEST_F(PsGroupTest, UnavailablePsIsAnErrorNamingIt) {
  std::unique_ptr<PsGroup> group = NewGroup();
  ASSERT_TRUE(group->CreateAndInitialize(config_, Initial()).ok());
  ps1_.SetUnavailable(true);
  std::vector<Tensor> values = Zeros();
  absl::Status pulled = group->PullAll(&values).status();
  EXPECT_EQ(pulled.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pulled.message(), "Pull to ps 1 at in-memory:1: ps is down (simulated)");
  EXPECT_FALSE(IsNotInitializedError(pulled));
}

TEST_F(PsGroupTest, WaitUntilInitializedReturnsOnceTheChiefInitialized) {
  std::unique_ptr<PsGroup> chief = NewGroup(0, 2);
  std::unique_ptr<PsGroup> other = NewGroup(1, 2);
  absl::Status waited = absl::UnknownError("not run");
  std::thread waiter(
      [&] { waited = other->WaitUntilInitialized(clock_.Now() + absl::Seconds(60)); });
  clock_.BlockUntilSleepers(1);  // the first Pull found the ps not initialized
  ASSERT_TRUE(chief->CreateAndInitialize(config_, Initial()).ok());
  clock_.Advance(absl::Seconds(1));
  waiter.join();
  EXPECT_TRUE(waited.ok()) << waited;
}

TEST_F(PsGroupTest, WaitUntilInitializedGivesUpAtTheDeadline) {
  std::unique_ptr<PsGroup> group = NewGroup();
  absl::Status waited = absl::UnknownError("not run");
  std::thread waiter([&] {
    waited = group->WaitUntilInitialized(clock_.Now() + absl::Seconds(2), "the test");
  });
  for (int i = 0; i < 8; ++i) {  // 8 sleeps of 250 ms reach the 2 s deadline
    clock_.BlockUntilSleepers(1);
    clock_.Advance(absl::Milliseconds(250));
  }
  waiter.join();
  EXPECT_EQ(waited.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(waited.message().substr(0, 30), "gave up waiting for the test: ");
}

// SYNC (docs/update_modes.md): a Pull with min_version 1 waits until both
// workers pushed their step-0 gradients and the blocks advanced.
TEST_F(PsGroupTest, SyncPullWaitsForTheOtherWorkersPush) {
  config_.set_update_mode(SYNC);
  config_.set_replicas_to_aggregate(2);
  config_.set_total_replicas(2);
  config_.set_sync_timeout_secs(600);
  std::unique_ptr<PsGroup> worker0 = NewGroup(0, 2);
  std::unique_ptr<PsGroup> worker1 = NewGroup(1, 2);
  ASSERT_TRUE(worker0->CreateAndInitialize(config_, Initial()).ok());
  const std::vector<Tensor> grads = Filled(2);
  ASSERT_TRUE(worker0->PushAll(grads, 0).ok());

  std::vector<Tensor> values = Zeros();
  absl::StatusOr<PsGroup::Pulled> pulled;
  absl::Notification done;
  std::thread puller([&] {
    pulled = worker0->PullAll(&values, 1);
    done.Notify();
  });
  // Worker 1 has not pushed: the pull must still wait (a real-time bound
  // only on how long we look; it can make the test pass wrongly, never fail).
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
  ASSERT_TRUE(worker1->PushAll(grads, 0).ok());
  done.WaitForNotification();
  puller.join();
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(pulled->min_version, 1);
  EXPECT_EQ(pulled->global_step, 1);
  // The average of the two gradients applied once: value - 0.5 * 2.
  EXPECT_EQ(values[1].span()[0], Initial()[1].span()[0] - 1);
}

TEST_F(PsGroupTest, WorkerDoneCountsOnPs0) {
  std::unique_ptr<PsGroup> worker0 = NewGroup(0, 2);
  std::unique_ptr<PsGroup> worker1 = NewGroup(1, 2);
  ASSERT_TRUE(worker0->CreateAndInitialize(config_, Initial()).ok());
  absl::StatusOr<int> done = worker1->WorkerDone(5);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 1);
  done = worker0->WorkerDone(5);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 2);
}

// Polls `observer`'s pulls (a second group: the pushing one takes no other
// call until FinishPush) until `done(values)`, for up to 10 s of real time.
bool PullUntil(PsGroup* observer, const std::function<bool(const std::vector<Tensor>&)>& done) {
  std::vector<Tensor> values = {Tensor({4, 3}), Tensor({3})};
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (observer->PullAll(&values).ok() && done(values)) return true;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return false;
}

TEST_F(PsGroupTest, OverlappedPushSendsEachBlockOnceItsGradientIsReady) {
  std::unique_ptr<PsGroup> group = NewGroup();
  std::unique_ptr<PsGroup> observer = NewGroup();
  ASSERT_TRUE(group->CreateAndInitialize(config_, Initial()).ok());
  std::vector<Tensor> grads = Zeros();
  ASSERT_TRUE(group->StartPush(&grads, 0).ok());
  for (float& x : grads[1].span()) x = 2;  // "b" first, as backward would
  group->GradientReady(1);
  // "b" arrives and is applied (momentum: value - 0.5 * 2); "w", not ready, stays.
  EXPECT_TRUE(PullUntil(observer.get(), [](const std::vector<Tensor>& v) {
    return Flat(v[1]) == std::vector<float>{9, 10, 11};
  }));
  std::vector<Tensor> values = Zeros();
  ASSERT_TRUE(observer->PullAll(&values).ok());
  EXPECT_EQ(Flat(values[0]), Flat(Initial()[0]));
  for (float& x : grads[0].span()) x = 2;
  group->GradientReady(0);
  absl::StatusOr<int64_t> step = group->FinishPush();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 1);
  step = group->PullAll(&values);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 1);
  ExpectOneMomentumStepOfTwo(values);
  // The next step's push: FinishPush sends whatever was not reported.
  ASSERT_TRUE(group->StartPush(&grads, 1).ok());
  step = group->FinishPush();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 2);
}

// A connection that passes everything on to `inner`, but whose Pull holds
// after handing on the last block of variable "w" (when "b" follows) until
// `release` is notified.
class HoldAfterW final : public ForwardingConnection {
 public:
  HoldAfterW(std::unique_ptr<PsConnection> inner, absl::Notification* release)
      : ForwardingConnection(std::move(inner)), release_(release) {}
  absl::StatusOr<PullResult> Pull(const PullRequest& request,
                                  absl::Span<const absl::Span<float>> destinations,
                                  const BlockArrived& arrived = nullptr) override {
    if (!arrived) return inner()->Pull(request, destinations);
    return inner()->Pull(request, destinations, [&](size_t block) {
      arrived(block);
      const bool w = absl::StartsWith(request.blocks(static_cast<int>(block)), "w");
      const int next = static_cast<int>(block) + 1;
      if (w && next < request.blocks_size() && absl::StartsWith(request.blocks(next), "b")) {
        release_->WaitForNotification();
      }
    });
  }

 private:
  absl::Notification* release_;
};

// The overlapped pull: "w" (pulled first) is usable while "b" is still held
// back; then the whole pull ends as PullAll's, and a push whose step comes
// from it goes out as usual.
TEST_F(PsGroupTest, OverlappedPullHandsOnEachVariableOnceItIsIn) {
  ASSERT_TRUE(NewGroup()->CreateAndInitialize(config_, Initial()).ok());
  absl::Notification release;
  std::vector<std::unique_ptr<PsConnection>> connections;
  for (auto& c : ConnectAll({&ps0_, &ps1_})) {
    connections.push_back(std::make_unique<HoldAfterW>(std::move(c), &release));
  }
  PsGroupOptions options;
  options.clock = &clock_;
  auto group = PsGroup::Create(variables_, plan_, options, std::move(connections));
  ASSERT_TRUE(group.ok()) << group.status();
  for (int step = 0; step < 2; ++step) {
    SCOPED_TRACE(step);
    std::vector<Tensor> values = Filled(-1);
    ASSERT_TRUE((*group)->StartPull(&values, 0).ok());
    EXPECT_EQ((*group)->StartPull(&values, 0).code(), absl::StatusCode::kFailedPrecondition);
    if (step == 0) {
      ASSERT_TRUE((*group)->AwaitVariable(0));
      EXPECT_EQ(Flat(values[0]), Flat(Initial()[0]));
      std::atomic<bool> b_in{false};
      std::thread waiter([&] { b_in = (*group)->AwaitVariable(1); });
      absl::SleepFor(absl::Milliseconds(50));
      EXPECT_FALSE(b_in.load());  // held back
      release.Notify();
      waiter.join();
      EXPECT_TRUE(b_in.load());
    }
    absl::StatusOr<PsGroup::Pulled> pulled = (*group)->FinishPull();
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    EXPECT_EQ(pulled->global_step, step);
    std::vector<Tensor> want = Zeros();
    ASSERT_TRUE(NewGroup()->PullAll(&want).ok());
    for (size_t v = 0; v < values.size(); ++v) EXPECT_EQ(Flat(values[v]), Flat(want[v])) << v;
    // The push's step from the pull, asked for on the push's thread.
    std::vector<Tensor> grads = Filled(2);
    ASSERT_TRUE((*group)
                    ->StartPush(&grads,
                                [&]() -> absl::StatusOr<int64_t> {
                                  ASSIGN_OR_RETURN(PsGroup::Pulled p, (*group)->AwaitPull());
                                  return p.global_step;
                                })
                    .ok());
    absl::StatusOr<int64_t> pushed = (*group)->FinishPush();
    ASSERT_TRUE(pushed.ok()) << pushed.status();
    EXPECT_EQ(*pushed, step + 1);
  }
}

TEST_F(PsGroupTest, OverlappedPullOfUninitializedPsHandsOnNothing) {
  std::unique_ptr<PsGroup> group = NewGroup();
  ASSERT_TRUE(group->CreateVariables(config_).ok());  // created, not initialized
  std::vector<Tensor> values = Zeros();
  ASSERT_TRUE(group->StartPull(&values, 0).ok());
  EXPECT_FALSE(group->AwaitVariable(1));
  EXPECT_FALSE(group->AwaitVariable(0));
  EXPECT_FALSE(group->AwaitVariable(7));  // no such variable
  absl::StatusOr<PsGroup::Pulled> pulled = group->FinishPull();
  EXPECT_TRUE(IsNotInitializedError(pulled.status())) << pulled.status();
  // A push whose step depends on that pull sends nothing.
  std::vector<Tensor> grads = Filled(2);
  ASSERT_TRUE(group
                  ->StartPush(&grads,
                              [&]() -> absl::StatusOr<int64_t> {
                                ASSIGN_OR_RETURN(PsGroup::Pulled p, group->AwaitPull());
                                return p.global_step;
                              })
                  .ok());
  EXPECT_TRUE(IsNotInitializedError(group->FinishPush().status()));
  EXPECT_EQ(group->StartPull(&grads, 0).code(), absl::StatusCode::kOk);
  EXPECT_FALSE(group->FinishPull().ok());
}

TEST_F(PsGroupTest, AbandonedPushSendsNoMoreAndLeavesTheStep) {
  std::unique_ptr<PsGroup> group = NewGroup();
  std::unique_ptr<PsGroup> observer = NewGroup();
  ASSERT_TRUE(group->CreateAndInitialize(config_, Initial()).ok());
  std::vector<Tensor> grads = Filled(2);
  ASSERT_TRUE(group->StartPush(&grads, 0).ok());
  group->GradientReady(1);
  EXPECT_TRUE(PullUntil(observer.get(), [](const std::vector<Tensor>& v) {
    return Flat(v[1]) == std::vector<float>{9, 10, 11};
  }));
  group->AbandonPush();
  std::vector<Tensor> values = Zeros();
  absl::StatusOr<int64_t> step = group->PullAll(&values);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 0);  // no push finished
  EXPECT_EQ(Flat(values[0]), Flat(Initial()[0]));
  // The group pushes on as usual afterwards.
  step = group->PushAll(grads, 0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(*step, 1);
}

TEST_F(PsGroupTest, StartPushAndStartPullNeedTheVariablesShapes) {
  std::unique_ptr<PsGroup> group = NewGroup();
  std::vector<Tensor> grads = {Tensor({4, 3}), Tensor({4})};
  absl::Status started = group->StartPush(&grads, 0);
  EXPECT_EQ(started.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(started.message(),
            "StartPush: the gradient of 'b' has shape [4], the variable's is [3]");
  grads.pop_back();
  EXPECT_EQ(group->StartPush(&grads, 0).message(), "StartPush: 1 gradients for 2 variables");
  EXPECT_EQ(group->FinishPush().status().code(), absl::StatusCode::kFailedPrecondition);
  std::vector<Tensor> values = {Tensor({4, 3}), Tensor({4})};
  EXPECT_EQ(group->StartPull(&values, 0).message(),
            "StartPull: the value tensor of 'b' has shape [4], the variable's is [3]");
  values.pop_back();
  EXPECT_EQ(group->StartPull(&values, 0).message(), "StartPull: 1 value tensors for 2 variables");
  EXPECT_EQ(group->FinishPull().status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tessera
