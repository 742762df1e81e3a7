// The worker's whole life on in-memory ps (test/in_memory_ps.h), a fake clock
// and a fake ClusterAdmin: no sockets, no files but checkpoints in TEST_TMPDIR.
#include "worker/worker.h"

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/checkpoint/checkpoint_manager.h"
#include "common/clock.h"
#include "common/fault_file_system.h"
#include "common/rpc/shared_segment.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "test/in_memory_ps.h"
#include "worker/train_config.h"

namespace tessera {
namespace {

// linear_regression (examples/linear_regression.pbtxt) with its data inline.
constexpr char kConfig[] = R"pb(
  model {
    name: "linear_regression"
    input_shape: [ 1 ]
    layer {
      name: "linear"
      dense {
        units: 1
        weights_initializer { constant { value: 0.3 } }
        biases_initializer { constant { value: -0.3 } }
      }
    }
    loss { mean_squared_error { reduction: SUM } }
  }
  data { inline_data { x: [ 1, 2, 3, 4 ] y: [ 0, -1, -2, -3 ] } }
  batch_size: 4
  max_steps: 30
  optimizer { learning_rate: 0.01 sgd {} }
  eval_at_end: false
  log_every_steps: 0
  rpc_timeout_secs: 3600
  startup_timeout_secs: 3600
  sync_timeout_secs: 3600
  worker_timeout_secs: 3600
)pb";

// A connection that can share memory, as a PsClient to a ps of the worker's
// host: records the memory the worker hands it (its variables and
// gradients, worker/tensor_memory.h); the calls go to `inner`, which reads
// and writes the worker's tensors wherever they are.
class SharingConnection : public ForwardingConnection {
 public:
  SharingConnection(std::unique_ptr<PsConnection> inner,
                    std::vector<std::shared_ptr<SharedMemory>>* given)
      : ForwardingConnection(std::move(inner)), given_(given) {}
  bool can_share_memory() const override { return true; }
  void ShareTensorMemory(std::shared_ptr<SharedMemory> memory) override {
    given_->push_back(std::move(memory));
  }

 private:
  std::vector<std::shared_ptr<SharedMemory>>* const given_;
};

// What the chief's admin calls see and do: ps 0's worker progress comes from
// the in-memory ps 0 (plus workers the test declares done); Shutdown is logged.
struct AdminLog {
  absl::Mutex mu;
  std::vector<std::string> shutdowns ABSL_GUARDED_BY(mu);  // "ps:1 at b:2 (reason)"
  std::set<int> declared_done ABSL_GUARDED_BY(mu);
  // Tasks ("worker:1") whose next Shutdown fails UNAVAILABLE (then is forgotten).
  std::set<std::string> refuse_once ABSL_GUARDED_BY(mu);
};

class FakeClusterAdmin final : public ClusterAdmin {
 public:
  FakeClusterAdmin(InMemoryPs* ps0, AdminLog* log) : ps0_(ps0), log_(log) {}
  std::vector<TaskStatus> GetStatuses(const std::vector<TaskTarget>& tasks,
                                      absl::Duration) override {
    std::vector<TaskStatus> out;
    absl::MutexLock lock(&log_->mu);
    for (const TaskTarget& t : tasks) {
      TaskStatus st{t, absl::OkStatus(), StatusResponse()};
      for (const auto& [task, state] : ps0_->store()->Summary().workers) {
        WorkerProgress* p = st.response.add_workers();
        p->set_task(task);
        p->set_done(state.done || log_->declared_done.count(task) > 0);
      }
      for (int task : log_->declared_done) {
        WorkerProgress* p = st.response.add_workers();
        p->set_task(task);
        p->set_done(true);
      }
      out.push_back(st);
    }
    return out;
  }
  std::vector<absl::Status> Shutdown(const std::vector<TaskTarget>& tasks,
                                     absl::string_view reason, absl::Duration) override {
    absl::MutexLock lock(&log_->mu);
    std::vector<absl::Status> results;
    for (const TaskTarget& t : tasks) {
      log_->shutdowns.push_back(absl::StrCat(t.ToString(), " (", reason, ")"));
      results.push_back(log_->refuse_once.erase(t.id.ToString()) > 0
                            ? absl::UnavailableError("connection refused")
                            : absl::OkStatus());
    }
    return results;
  }

 private:
  InMemoryPs* const ps0_;
  AdminLog* const log_;
};

// Records every step, and calls `on_step` (optional) after each.
class RecordingHook final : public TrainingHook {
 public:
  explicit RecordingHook(std::function<void(const StepInfo&)> on_step = nullptr)
      : on_step_(std::move(on_step)) {}
  absl::Status AfterStep(const StepInfo& step) override {
    losses.push_back(step.loss);
    global_steps.push_back(step.global_step);
    if (on_step_) on_step_(step);
    return absl::OkStatus();
  }
  absl::Status End(const EndInfo& end) override {
    end_step = end.global_step;
    return absl::OkStatus();
  }
  std::vector<float> losses;
  std::vector<int64_t> global_steps;
  int64_t end_step = -1;

 private:
  std::function<void(const StepInfo&)> on_step_;
};

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config_));
    ApplyDefaults(&config_);
  }

  // Worker `task` of a cluster of 2 ps and `num_workers` workers, on the
  // in-memory ps; `hook` (borrowed into the worker) records its steps.
  std::unique_ptr<Worker> NewWorker(int task, int num_workers, WorkerStatus* status,
                                    std::unique_ptr<RecordingHook> hook) {
    std::string workers = "\"w0:1\"";
    if (num_workers == 2) workers += ", \"w1:1\"";
    absl::StatusOr<ClusterSpec> cluster = ClusterSpec::FromJson(
        absl::StrCat(R"({"ps": ["p0:1", "p1:1"], "worker": [)", workers, "]}"), "test");
    EXPECT_TRUE(cluster.ok()) << cluster.status();
    WorkerParts parts;
    parts.clock = &clock_;
    parts.connect_ps = [this](const std::atomic<bool>*) {
      std::vector<std::unique_ptr<PsConnection>> connections = ConnectAll({&ps0_, &ps1_});
      if (share_memory_) {
        for (auto& c : connections) {
          c = std::make_unique<SharingConnection>(std::move(c), &shared_memory_given_);
        }
      }
      return absl::StatusOr<std::vector<std::unique_ptr<PsConnection>>>(std::move(connections));
    };
    if (task == 0) parts.admin = std::make_unique<FakeClusterAdmin>(&ps0_, &admin_);
    parts.file_system = &faults_;
    WorkerOptions options;
    options.task = task;
    absl::StatusOr<std::unique_ptr<Worker>> worker =
        Worker::CreateFromParts(*cluster, config_, options, status, std::move(parts));
    EXPECT_TRUE(worker.ok()) << worker.status();
    if (!worker.ok()) return nullptr;
    (*worker)->AddHook(std::move(hook));
    return std::move(*worker);
  }

  std::vector<std::string> Shutdowns() {
    absl::MutexLock lock(&admin_.mu);
    return admin_.shutdowns;
  }

  // Moves the fake clock on while more than one thread runs (waits that
  // sleep on it: the chief waiting for the others, waiting for the chief).
  void TickUntil(const std::atomic<bool>* stop) {
    while (!stop->load()) {
      clock_.Advance(absl::Milliseconds(100));
      absl::SleepFor(absl::Milliseconds(1));
    }
  }

  // Connections that can share memory (SharingConnection), and what the
  // worker handed them, every connection's in turn.
  bool share_memory_ = false;
  std::vector<std::shared_ptr<SharedMemory>> shared_memory_given_;
  FakeClock clock_;
  FaultFileSystem faults_{DefaultFileSystem()};  // checkpoints and summaries
  InMemoryPs ps0_{0, &clock_};
  InMemoryPs ps1_{1, &clock_};
  AdminLog admin_;
  TrainConfig config_;
  WorkerStatus status0_{&clock_, StatusResponse()};
  WorkerStatus status1_{&clock_, StatusResponse()};
};

TEST_F(WorkerTest, ChiefTrainsLossFallsAndGlobalStepAdvancesToMaxSteps) {
  auto hook = std::make_unique<RecordingHook>();
  RecordingHook* steps = hook.get();
  std::unique_ptr<Worker> worker = NewWorker(0, 1, &status0_, std::move(hook));
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->Run().ok());
  ASSERT_EQ(steps->global_steps.size(), 30u);
  for (size_t i = 0; i < steps->global_steps.size(); ++i) {
    EXPECT_EQ(steps->global_steps[i], static_cast<int64_t>(i) + 1);
  }
  EXPECT_EQ(steps->end_step, 30);
  EXPECT_LT(steps->losses.back(), steps->losses.front() / 10);
  EXPECT_TRUE(ps0_.store()->Summary().workers.at(0).done);
}

// The overlapped pull (the default) trains exactly as the pull before the
// forward pass; a pull that breaks after some variables were in use redoes
// the step with the same batch (and the same values: nothing else pushed),
// so that run trains the very same steps too.
TEST_F(WorkerTest, OverlappedPullTrainsAsThePullBeforeForwardAndRedoesABrokenStep) {
  // Two layers: each ps holds more than one block, so a pull can break between them.
  ASSERT_TRUE(
      google::protobuf::TextFormat::ParseFromString(R"pb(
                                                      name: "two_layers"
                                                      input_shape: [ 1 ]
                                                      layer {
                                                        name: "hidden"
                                                        dense { units: 3 }
                                                      }
                                                      layer {
                                                        name: "linear"
                                                        dense { units: 1 }
                                                      }
                                                      loss { mean_squared_error { reduction: SUM } }
                                                    )pb",
                                                    config_.mutable_model()));
  std::vector<std::vector<float>> losses;
  for (const std::string run :
       {"overlapped", "before forward", "broken", "broken, tensors in shared memory"}) {
    SCOPED_TRACE(run);
    ps0_.Restart();
    ps1_.Restart();
    share_memory_ = absl::StrContains(run, "shared memory");
    shared_memory_given_.clear();
    config_.set_pull_before_forward(run == "before forward");
    auto hook = std::make_unique<RecordingHook>([&](const StepInfo& step) {
      // The next step's pulls break after their first block.
      if (absl::StartsWith(run, "broken") && step.global_step == 5) {
        ps0_.BreakNextPullAfterBlocks(1);
        ps1_.BreakNextPullAfterBlocks(1);
      }
    });
    RecordingHook* steps = hook.get();
    std::unique_ptr<Worker> worker = NewWorker(0, 1, &status0_, std::move(hook));
    ASSERT_NE(worker, nullptr);
    testing::internal::CaptureStderr();
    const absl::Status result = worker->Run();
    const std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(result.ok()) << result;
    EXPECT_EQ(steps->end_step, 30);
    EXPECT_EQ(steps->global_steps.size(), 30u);
    losses.push_back(steps->losses);
    EXPECT_EQ(absl::StrContains(log, "redoing the step: "), absl::StartsWith(run, "broken")) << log;
    if (absl::StartsWith(run, "broken")) {
      EXPECT_TRUE(absl::StrContains(log, "blocks were in use (not retried)")) << log;
    }
    if (share_memory_) {
      // The tensors in shared memory, handed to both connections; the redone
      // step (its push abandoned, which a ps might still read) moved them to
      // new memory, handed over again, the values going along.
      ASSERT_EQ(shared_memory_given_.size(), 4u);
      EXPECT_EQ(shared_memory_given_[0], shared_memory_given_[1]);
      EXPECT_EQ(shared_memory_given_[2], shared_memory_given_[3]);
      ASSERT_NE(shared_memory_given_[2], nullptr);
      EXPECT_NE(shared_memory_given_[2], shared_memory_given_[0]);
    }
  }
  EXPECT_EQ(losses[1], losses[0]);
  EXPECT_EQ(losses[2], losses[0]);
  EXPECT_EQ(losses[3], losses[0]);
}

TEST_F(WorkerTest, ProgressLinesSayWhereTheStepsWent) {
  config_.set_log_every_steps(10);
  std::unique_ptr<Worker> worker = NewWorker(0, 1, &status0_, std::make_unique<RecordingHook>());
  ASSERT_NE(worker, nullptr);
  testing::internal::CaptureStderr();
  const absl::Status result = worker->Run();
  const std::string log = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(result.ok()) << result;
  // 30 steps, a line every 10; the fake clock stands still, the CPU does not.
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (!absl::StrContains(line, "] global step ")) continue;
    ++lines;
    EXPECT_TRUE(absl::StrContains(line, "input wait 0.0%; per step: pull 0.0 ms, compute 0.0 ms (CPU "))
        << line;
    EXPECT_TRUE(absl::EndsWith(line, " ms), push 0.0 ms")) << line;
  }
  EXPECT_EQ(lines, 3) << log;
}

TEST_F(WorkerTest, ChiefShutsThePsDownOnceEveryWorkerIsDone) {
  config_.set_max_steps(5);
  config_.set_batch_size(2);  // each worker's part of the data
  std::unique_ptr<Worker> worker =
      NewWorker(0, 2, &status0_, std::make_unique<RecordingHook>());
  ASSERT_NE(worker, nullptr);
  absl::Status result = absl::UnknownError("not run");
  std::thread chief([&] { result = worker->Run(); });
  clock_.BlockUntilSleepers(1);  // waiting for worker 1
  EXPECT_EQ(status0_.Snapshot().waiting_for(), "workers 1 to finish");
  EXPECT_TRUE(Shutdowns().empty());
  {
    absl::MutexLock lock(&admin_.mu);
    admin_.declared_done.insert(1);
  }
  clock_.Advance(absl::Seconds(1));
  chief.join();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(Shutdowns(), (std::vector<std::string>{"ps:0 at p0:1 (training finished)",
                                                   "ps:1 at p1:1 (training finished)"}));
}

TEST_F(WorkerTest, StoppedWorkerDoesNotShutThePsDown) {
  std::unique_ptr<Worker> worker;
  auto hook = std::make_unique<RecordingHook>([&](const StepInfo& step) {
    if (step.global_step == 3) worker->RequestStop();
  });
  RecordingHook* steps = hook.get();
  worker = NewWorker(0, 1, &status0_, std::move(hook));
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->Run().ok());
  EXPECT_EQ(steps->end_step, 3);
  EXPECT_TRUE(Shutdowns().empty());
}

// SYNC (docs/update_modes.md): each global step takes one push of each of the
// two workers, so each runs exactly max_steps steps and none is dropped.
TEST_F(WorkerTest, SyncWorkersWaitForEachOtherEveryStep) {
  config_.set_update_mode(SYNC);
  config_.set_replicas_to_aggregate(2);
  config_.set_total_replicas(2);
  config_.set_max_steps(10);
  config_.set_batch_size(2);  // each worker's part of the data
  auto hook0 = std::make_unique<RecordingHook>();
  auto hook1 = std::make_unique<RecordingHook>();
  RecordingHook* steps0 = hook0.get();
  RecordingHook* steps1 = hook1.get();
  std::unique_ptr<Worker> chief = NewWorker(0, 2, &status0_, std::move(hook0));
  std::unique_ptr<Worker> other = NewWorker(1, 2, &status1_, std::move(hook1));
  ASSERT_NE(chief, nullptr);
  ASSERT_NE(other, nullptr);
  absl::Status result0, result1;
  std::atomic<bool> finished{false};
  std::thread ticker([&] { TickUntil(&finished); });
  std::thread t1([&] { result1 = other->Run(); });
  std::thread t0([&] { result0 = chief->Run(); });
  t0.join();
  t1.join();
  finished = true;
  ticker.join();
  ASSERT_TRUE(result0.ok()) << result0;
  ASSERT_TRUE(result1.ok()) << result1;
  EXPECT_EQ(steps0->global_steps.size(), 10u);
  EXPECT_EQ(steps1->global_steps.size(), 10u);
  for (const auto& [task, state] : ps0_.store()->Summary().workers) {
    EXPECT_EQ(state.pushes_dropped, 0) << "worker " << task;
  }
  EXPECT_EQ(steps0->end_step, 10);
  EXPECT_EQ(Shutdowns().size(), 2u);
}

TEST_F(WorkerTest, ChiefWritesCheckpointsUnderItsDirectory) {
  const std::string dir = ::testing::TempDir() + "checkpoints";
  config_.set_checkpoint_dir(dir);
  config_.set_save_checkpoint_steps(5);
  config_.set_max_steps(12);
  std::unique_ptr<Worker> worker =
      NewWorker(0, 1, &status0_, std::make_unique<RecordingHook>());
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->Run().ok());
  absl::StatusOr<CheckpointDirectoryListing> listing = ListCheckpoints(dir);
  ASSERT_TRUE(listing.ok()) << listing.status();
  std::vector<int64_t> steps;
  for (const CheckpointListing& c : listing->checkpoints) steps.push_back(c.global_step);
  // Every 5 steps (step 10's may be delayed while step 5's is still being
  // written: checkpoint_hook.h) and at the end.
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps.front(), 5);
  EXPECT_EQ(steps.back(), 12);
  absl::StatusOr<RestoredCheckpoint> latest = RestoreLatest(dir, "");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->contents.metadata.global_step, 12);
  EXPECT_EQ(latest->contents.variables.size(), 2u);
}

// A worker asked to stop (Admin Shutdown, SIGTERM) while it waits for the
// chief to initialize the variables stops waiting and ends cleanly, instead of
// waiting out startup_timeout_secs.
TEST_F(WorkerTest, StopWhileWaitingForTheChiefEndsCleanly) {
  std::unique_ptr<Worker> worker = NewWorker(1, 2, &status1_, std::make_unique<RecordingHook>());
  ASSERT_NE(worker, nullptr);
  std::atomic<bool> done{false};
  absl::Status run;
  std::thread thread([&] {
    run = worker->Run();
    done = true;
  });
  for (int i = 0; i < 10000 && status1_.Snapshot().waiting_for().empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_NE(status1_.Snapshot().waiting_for().find("the chief"), std::string::npos);
  worker->RequestStop();
  TickUntil(&done);
  thread.join();
  EXPECT_TRUE(run.ok()) << run;
  EXPECT_EQ(status1_.state(), "done");
}

// Disk faults (docs/reliability.md). A full checkpoint disk under the default
// TRAIN_ON: every checkpoint fails, training reaches max_steps, each failure
// is counted in the status, and the failed final checkpoint is Run's error
// with the ps left running (a restarted chief saves their values).
TEST_F(WorkerTest, FullCheckpointDiskTrainOnTrainsToTheEnd) {
  const std::string dir = ::testing::TempDir() + "full_disk_train_on";
  config_.set_checkpoint_dir(dir);
  config_.set_save_checkpoint_steps(5);
  config_.set_max_steps(12);
  faults_.FailAppend(1, FaultFileSystem::kNoSpace, "/ckpt-");
  auto hook = std::make_unique<RecordingHook>();
  RecordingHook* steps = hook.get();
  std::unique_ptr<Worker> worker = NewWorker(0, 1, &status0_, std::move(hook));
  ASSERT_NE(worker, nullptr);
  const absl::Status run = worker->Run();
  EXPECT_EQ(run.code(), absl::StatusCode::kResourceExhausted) << run;
  EXPECT_NE(run.message().find("checkpoint at global step 12 not written: cannot write to " + dir +
                               "/ckpt-12."),
            std::string::npos)
      << run;
  EXPECT_EQ(steps->global_steps.back(), 12);
  EXPECT_GE(status0_.Snapshot().write_errors(), 2);  // step 5 or 10's, and step 12's
  EXPECT_TRUE(Shutdowns().empty()) << "the trained values stay on the ps";
}

// The same under STOP_JOB: the chief stops at the first failed checkpoint,
// still tries its final one, asks every other task to shut down and returns
// the error; the first checkpoint (written before the disk filled) stays the
// latest.
TEST_F(WorkerTest, FailedCheckpointUnderStopJobStopsTheWholeJob) {
  const std::string dir = ::testing::TempDir() + "full_disk_stop_job";
  config_.set_checkpoint_dir(dir);
  config_.set_save_checkpoint_steps(5);
  config_.set_max_steps(100000);
  config_.set_batch_size(2);  // two workers' parts of 4 examples
  config_.set_on_checkpoint_error(STOP_JOB);
  auto hook = std::make_unique<RecordingHook>([this](const StepInfo& step) {
    // After the step-5 checkpoint is committed, the disk fills.
    if (step.global_step == 6) {
      for (int i = 0; i < 10000 && status0_.Snapshot().last_checkpoint().empty(); ++i) {
        absl::SleepFor(absl::Milliseconds(1));
      }
      faults_.FailSync("/ckpt-");
    }
  });
  RecordingHook* steps = hook.get();
  std::unique_ptr<Worker> worker = NewWorker(0, 2, &status0_, std::move(hook));
  ASSERT_NE(worker, nullptr);
  {
    absl::MutexLock lock(&admin_.mu);
    admin_.refuse_once.insert("worker:1");  // asked again
  }
  const absl::Status run = worker->Run();
  EXPECT_EQ(run.code(), absl::StatusCode::kUnknown) << run;
  EXPECT_TRUE(absl::StartsWith(run.message(),
                               "checkpoint at global step 10 not written: "
                               "cannot fsync " +
                                   dir + "/ckpt-10."))
      << run;
  EXPECT_LT(steps->global_steps.back(), 100000) << "stopped, not trained to the end";
  const std::string reason = absl::StrCat("worker 0 stopped the job: ", run.message());
  EXPECT_EQ(Shutdowns(),
            (std::vector<std::string>{
                // The workers first (asked again after the refusal), then the ps.
                "worker:1 at w1:1 (" + reason + ")", "worker:1 at w1:1 (" + reason + ")",
                "ps:0 at p0:1 (" + reason + ")", "ps:1 at p1:1 (" + reason + ")"}));
  EXPECT_EQ(status0_.Snapshot().state(), "error");
  absl::StatusOr<RestoredCheckpoint> latest = RestoreLatest(dir, "");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->contents.metadata.global_step, 5);
}

// Batch norm's moving averages live on the ps as MOVING_AVERAGE variables:
// with decay 0 each step sets them to the step's batch statistics (the mean
// and unbiased variance of the dense layer's outputs under the pulled
// weights, the batch being the whole data set), Adam's slots exist only for
// the trainable variables, and the final checkpoint holds them with their kind.
TEST_F(WorkerTest, BatchNormMovingAveragesAreUpdatedOnThePsWithoutTheOptimizer) {
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    name: "bn"
    input_shape: [ 1 ]
    layer { name: "h" dense { units: 2 } }
    layer { name: "bn" batch_norm { decay: 0 } }
    layer { name: "out" dense { units: 1 } }
    loss { mean_squared_error { reduction: SUM } }
  )pb", config_.mutable_model()));
  config_.mutable_optimizer()->Clear();
  config_.mutable_optimizer()->mutable_adam();
  config_.set_max_steps(4);
  const std::string dir = ::testing::TempDir() + "batch_norm";
  config_.set_checkpoint_dir(dir);
  // Per step, from the values it pulled: dense outputs' mean and unbiased
  // variance over the 4 examples x = 1..4.
  std::vector<std::vector<double>> stats;
  auto hook = std::make_unique<RecordingHook>([&](const StepInfo& step) {
    const std::vector<Tensor>& v = *step.values;
    std::vector<double> step_stats;
    for (int c = 0; c < 2; ++c) {
      double sum = 0, sum_sq = 0;
      for (int x = 1; x <= 4; ++x) sum += double{v[0][c]} * x + v[1][c];
      const double mean = sum / 4;
      for (int x = 1; x <= 4; ++x) {
        const double d = double{v[0][c]} * x + v[1][c] - mean;
        sum_sq += d * d;
      }
      step_stats.push_back(mean);
      step_stats.push_back(sum_sq / 3);
    }
    stats.push_back(step_stats);
  });
  std::unique_ptr<Worker> worker = NewWorker(0, 1, &status0_, std::move(hook));
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(worker->Run().ok());
  ASSERT_EQ(stats.size(), 4u);
  absl::StatusOr<RestoredCheckpoint> latest = RestoreLatest(dir, "");
  ASSERT_TRUE(latest.ok()) << latest.status();
  const CheckpointContents& c = latest->contents;
  ASSERT_EQ(c.variables.size(), 8u);
  const CheckpointVariable& mean = c.variables[4];
  const CheckpointVariable& variance = c.variables[5];
  EXPECT_EQ(mean.name, "bn/moving_mean");
  EXPECT_EQ(variance.name, "bn/moving_variance");
  EXPECT_EQ(mean.kind, MOVING_AVERAGE);
  EXPECT_TRUE(mean.slots.empty());
  EXPECT_TRUE(variance.slots.empty());
  for (int ch = 0; ch < 2; ++ch) {
    EXPECT_NEAR(mean.value[ch], stats.back()[2 * ch], 1e-5) << ch;
    EXPECT_NEAR(variance.value[ch], stats.back()[2 * ch + 1], 1e-4) << ch;
    EXPECT_NE(mean.value[ch], 0.0f);
  }
  for (int v : {0, 1, 2, 3, 6, 7}) {
    EXPECT_EQ(c.variables[v].kind, TRAINABLE) << c.variables[v].name;
    EXPECT_EQ(c.variables[v].slots.size(), 2u) << c.variables[v].name;  // Adam's m and v
  }
}

// A ps restarts (new incarnation, not initialized) during training: the chief
// restores it from the latest checkpoint and training goes on from there.
TEST_F(WorkerTest, ChiefRestoresARestartedPsFromTheLatestCheckpoint) {
  const std::string dir = ::testing::TempDir() + "recovery";
  config_.set_checkpoint_dir(dir);
  config_.set_save_checkpoint_steps(5);
  config_.set_max_steps(12);
  bool restarted = false;
  auto hook = std::make_unique<RecordingHook>([&](const StepInfo& step) {
    if (restarted || step.global_step != 8) return;
    // The checkpoint of step 5 is written on the saver's thread: wait for it.
    for (int i = 0; i < 1000 && !RestoreLatest(dir, "").ok(); ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ps0_.Restart();
    restarted = true;
  });
  RecordingHook* steps = hook.get();
  std::unique_ptr<Worker> worker = NewWorker(0, 1, &status0_, std::move(hook));
  ASSERT_NE(worker, nullptr);
  absl::Status result = worker->Run();
  ASSERT_TRUE(result.ok()) << result;
  ASSERT_TRUE(restarted);
  // 1..8, then from the checkpoint's step 5 again: 6..12.
  std::vector<int64_t> expected = {1, 2, 3, 4, 5, 6, 7, 8, 6, 7, 8, 9, 10, 11, 12};
  EXPECT_EQ(steps->global_steps, expected);
  EXPECT_EQ(steps->end_step, 12);
}

}  // namespace
}  // namespace tessera
