#include "worker/hooks/summary_hook.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/fault_file_system.h"
#include "common/records/tfrecord.h"
#include "gtest/gtest.h"
#include "protos/event.pb.h"
#include "worker/worker_status.h"

namespace tessera {
namespace {

// (tag, step) -> the value's summary, over every event of the file.
std::map<std::pair<std::string, int64_t>, tensorflow::Summary::Value> ReadValues(
    const std::string& path) {
  std::map<std::pair<std::string, int64_t>, tensorflow::Summary::Value> values;
  auto reader = TFRecordReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return values;
  std::string record;
  while (true) {
    auto more = (*reader)->ReadRecord(&record);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    tensorflow::Event event;
    EXPECT_TRUE(event.ParseFromString(record));
    for (const auto& v : event.summary().value()) values[{v.tag(), event.step()}] = v;
  }
  return values;
}

class SummaryHookTest : public testing::Test {
 protected:
  SummaryHookTest() {
    config_.set_save_summaries_steps(10);
    config_.set_save_histograms_steps(20);
    config_.mutable_optimizer()->set_learning_rate(0.1f);
    config_.mutable_optimizer()->mutable_sgd();
    variables_ = {{"dense/weights", {2, 3}}, {"dense/bias", {3}}};
    values_ = {Tensor({2, 3}, {1, 2, 3, 4, 5, 6}), Tensor({3}, {0, 0, 0.5f})};
    batch_.inputs = Tensor({4, 2, 2, 1});
    batch_.inputs.Fill(0.5f);
  }

  HookContext Context(bool is_chief) {
    HookContext context;
    context.config = &config_;
    context.variables = &variables_;
    context.is_chief = is_chief;
    return context;
  }

  // Global step `step` of one worker (loss = global step).
  StepInfo StepAt(int64_t step) {
    StepInfo info;
    info.global_step = step;
    info.local_step = step;
    info.loss = static_cast<float>(step);
    info.batch_size = 4;
    info.step_seconds = 0.5;
    info.input_wait_seconds = 0.05;
    info.values = &values_;
    info.batch = &batch_;
    return info;
  }

  // Runs 25 global steps of one second each (loss = global step), evaluates
  // at 25, ends; returns the event file's path.
  std::string Run(bool is_chief, const std::string& name) {
    SummaryWriterOptions options;
    options.clock = &clock_;
    auto writer = SummaryWriter::Create(absl::StrCat(testing::TempDir(), "/", name), options);
    EXPECT_TRUE(writer.ok()) << writer.status();
    SummaryHook hook(std::move(*writer), &clock_);
    EXPECT_TRUE(hook.Begin(Context(is_chief)).ok());
    for (int64_t step = 1; step <= 25; ++step) {
      clock_.Advance(absl::Seconds(1));
      EXPECT_TRUE(hook.AfterStep(StepAt(step)).ok());
    }
    hook.AddEvalResult(25, EvalMetrics{0.25, 0.75, 100});
    EndInfo end;
    end.global_step = 25;
    end.values = &values_;
    EXPECT_TRUE(hook.End(end).ok());
    return hook.writer().path();
  }

  FakeClock clock_;
  TrainConfig config_;
  std::vector<VariableInfo> variables_;
  std::vector<Tensor> values_;
  Dataset batch_;
};

TEST_F(SummaryHookTest, ChiefWritesScalarsHistogramsImagesAndEval) {
  const auto values = ReadValues(Run(/*is_chief=*/true, "chief"));
  std::map<std::string, std::vector<int64_t>> steps_by_tag;
  for (const auto& [key, value] : values) steps_by_tag[key.first].push_back(key.second);

  const std::vector<int64_t> scalar_steps = {1, 10, 20, 25};  // first step, every 10, end
  for (const char* tag : {"loss", "learning_rate", "images_per_sec", "global_step/sec",
                          "step_time_seconds", "input_wait_fraction", "bytes_pulled",
                          "bytes_pushed"}) {
    EXPECT_EQ(steps_by_tag[tag], scalar_steps) << tag;
  }
  EXPECT_EQ(steps_by_tag["dense/weights"], std::vector<int64_t>({1, 20, 25}));
  EXPECT_EQ(steps_by_tag["dense/bias"], std::vector<int64_t>({1, 20, 25}));
  EXPECT_EQ(steps_by_tag["eval/loss"], std::vector<int64_t>({25}));
  EXPECT_EQ(steps_by_tag.count("eval/accuracy"), 0u);  // no classifier model
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(steps_by_tag[absl::StrCat("input/image/", i)], std::vector<int64_t>({1}));
  }
  EXPECT_EQ(steps_by_tag.count("input/image/3"), 0u);

  // The window of steps 2..10: nine one-second steps of four images.
  auto scalar = [&](const char* tag, int64_t step) {
    return values.at({tag, step}).simple_value();
  };
  EXPECT_FLOAT_EQ(scalar("loss", 10), (2 + 10) * 9 / 2 / 9.0f);
  EXPECT_FLOAT_EQ(scalar("images_per_sec", 10), 4);
  EXPECT_FLOAT_EQ(scalar("global_step/sec", 10), 1);
  EXPECT_FLOAT_EQ(scalar("step_time_seconds", 10), 0.5f);
  EXPECT_FLOAT_EQ(scalar("input_wait_fraction", 10), 0.1f);
  EXPECT_FLOAT_EQ(scalar("learning_rate", 10), 0.1f);
  EXPECT_FLOAT_EQ(scalar("bytes_pulled", 10), 10 * 9 * 4);  // 10 steps of 9 floats
  EXPECT_FLOAT_EQ(scalar("loss", 25), (21 + 25) / 2.0f);
  EXPECT_FLOAT_EQ(scalar("eval/loss", 25), 0.25f);

  const tensorflow::HistogramProto& h = values.at({"dense/weights", 20}).histo();
  EXPECT_EQ(h.num(), 6);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 6);
  EXPECT_EQ(h.sum(), 21);
  EXPECT_EQ(values.at({"input/image/0", 1}).image().width(), 2);
}

TEST_F(SummaryHookTest, OtherWorkersWriteScalarsOnly) {
  const auto values = ReadValues(Run(/*is_chief=*/false, "worker1"));
  for (const auto& [key, value] : values) {
    EXPECT_TRUE(value.value_case() == tensorflow::Summary::Value::kSimpleValue ||
                key.first == "eval/loss")
        << key.first;
  }
  EXPECT_EQ(values.count({"loss", 20}), 1u);
}

TEST_F(SummaryHookTest, CreateUsesOneDirectoryPerWorker) {
  config_.set_summary_dir(absl::StrCat(testing::TempDir(), "/create"));
  auto hook = SummaryHook::Create(config_, 3, &clock_);
  ASSERT_TRUE(hook.ok()) << hook.status();
  EXPECT_EQ((*hook)->writer().path().rfind(
                absl::StrCat(config_.summary_dir(), "/worker_3/events.out.tfevents."), 0),
            0u)
      << (*hook)->writer().path();
}

// Disk faults (docs/reliability.md): a full disk from step 5 to step 14 fails
// the scalar summary of step 10; the hook's steps go on, the failure is
// counted in the worker's status, and the summaries after the disk recovers
// are readable in a new event file.
class SummaryHookFaultTest : public SummaryHookTest {
 protected:
  // Runs 25 steps as Run does, with the disk full from step 5 to 14; returns
  // every value of every event file of the directory.
  std::map<std::pair<std::string, int64_t>, tensorflow::Summary::Value> RunWithFullDisk(
      const std::string& name) {
    FaultFileSystem faults(DefaultFileSystem());
    const std::string dir = absl::StrCat(testing::TempDir(), "/", name);
    SummaryWriterOptions options;
    options.clock = &clock_;
    options.file_system = &faults;
    auto writer = SummaryWriter::Create(dir, options);
    EXPECT_TRUE(writer.ok()) << writer.status();
    SummaryHook hook(std::move(*writer), &clock_);
    HookContext context = Context(/*is_chief=*/true);
    context.status = &status_;
    context.stop_job = [this](const absl::Status& error) { stops_.push_back(error); };
    EXPECT_TRUE(hook.Begin(context).ok());
    for (int64_t step = 1; step <= 25; ++step) {
      if (step == 5) faults.FailAppend(1, FaultFileSystem::kNoSpace, "events.out");
      if (step == 15) faults.Clear();
      clock_.Advance(absl::Seconds(1));
      EXPECT_TRUE(hook.AfterStep(StepAt(step)).ok()) << "step " << step;
    }
    EndInfo end;
    end.global_step = 25;
    end.values = &values_;
    EXPECT_TRUE(hook.End(end).ok());
    std::map<std::pair<std::string, int64_t>, tensorflow::Summary::Value> values;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      values.merge(ReadValues(entry.path().string()));
    }
    return values;
  }

  WorkerStatus status_{&clock_, StatusResponse()};
  std::vector<absl::Status> stops_;
};

TEST_F(SummaryHookFaultTest, TrainOnCountsTheFailureAndLaterSummariesAreReadable) {
  const auto values = RunWithFullDisk("full_disk_train_on");
  EXPECT_TRUE(stops_.empty());
  EXPECT_GE(status_.Snapshot().write_errors(), 1);
  EXPECT_NE(status_.Snapshot().last_error().find("No space left on device"), std::string::npos);
  EXPECT_EQ(values.count({"loss", 1}), 1u);
  EXPECT_EQ(values.count({"loss", 10}), 0u) << "written while the disk was full";
  EXPECT_EQ(values.count({"loss", 20}), 1u);
  EXPECT_EQ(values.count({"loss", 25}), 1u);
  EXPECT_EQ(values.count({"dense/weights", 25}), 1u);
}

TEST_F(SummaryHookFaultTest, StopJobAsksTheWorkerToStopOnce) {
  config_.set_on_summary_error(STOP_JOB);
  RunWithFullDisk("full_disk_stop_job");
  ASSERT_EQ(stops_.size(), 1u);
  EXPECT_NE(stops_[0].message().find("/full_disk_stop_job/events.out.tfevents."),
            absl::string_view::npos)
      << stops_[0];
}

}  // namespace
}  // namespace tessera
