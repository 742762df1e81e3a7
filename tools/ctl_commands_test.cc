#include "tools/ctl_commands.h"

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A clock whose SleepFor returns at once, moving time forward by the sleep.
class SteppingClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void SleepFor(absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  bool AwaitWithDeadline(absl::Mutex* mu, const absl::Condition& cond,
                         absl::Time deadline) override {
    return cond.Eval();
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::UnixEpoch();
};

// Answers GetStatus from `answer(task, poll)`, poll counting from 0, and
// records Shutdown calls; `shutdown_result` gives each task's Shutdown result.
class FakeClusterAdmin final : public ClusterAdmin {
 public:
  std::function<TaskStatus(const TaskTarget&, int)> answer;
  std::function<absl::Status(const TaskTarget&)> shutdown_result = [](const TaskTarget&) {
    return absl::OkStatus();
  };
  int polls = 0;
  std::vector<absl::Duration> timeouts;
  std::vector<std::string> shutdown_groups;  // one entry per Shutdown call: "worker:0 ps:0"

  std::vector<TaskStatus> GetStatuses(const std::vector<TaskTarget>& tasks,
                                      absl::Duration timeout) override {
    timeouts.push_back(timeout);
    std::vector<TaskStatus> out;
    for (const TaskTarget& t : tasks) out.push_back(answer(t, polls));
    ++polls;
    return out;
  }
  std::vector<absl::Status> Shutdown(const std::vector<TaskTarget>& tasks,
                                     absl::string_view reason,
                                     absl::Duration timeout) override {
    std::vector<absl::Status> out;
    std::string group;
    for (const TaskTarget& t : tasks) {
      out.push_back(shutdown_result(t));
      group += (group.empty() ? "" : " ") + t.id.ToString();
    }
    shutdown_groups.push_back(group);
    return out;
  }
};

TaskStatus Answer(const TaskTarget& t, absl::string_view state) {
  TaskStatus s{t, absl::OkStatus(), {}};
  s.response.set_job(t.id.job);
  s.response.set_task(t.id.index);
  s.response.set_state(std::string(state));
  s.response.set_global_step(7);
  return s;
}

TaskStatus Refused(const TaskTarget& t) {
  return {t, absl::UnavailableError("Connection refused"), {}};
}

ClusterSpec TwoByTwo() {
  return *ClusterSpec::FromJson(R"({"ps": ["h:1", "h:2"], "worker": ["h:3", "h:4"]})", "c.json");
}

std::vector<std::string> Lines(const std::ostringstream& out) {
  return absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
}

TEST(SelectTasksTest, AllOrOneJob) {
  ClusterSpec cluster = TwoByTwo();
  auto all = SelectTasks(cluster, "");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[2].ToString(), "worker:0 at h:3");
  auto workers = SelectTasks(cluster, "worker");
  ASSERT_TRUE(workers.ok());
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ((*workers)[1].ToString(), "worker:1 at h:4");
  auto none = SelectTasks(cluster, "evaluator");
  EXPECT_EQ(none.status(),
            absl::InvalidArgumentError("job \"evaluator\" is not in the cluster of c.json"));
}

TEST(RunTasksTest, OneLinePerTask) {
  std::ostringstream out;
  RunTasks(*SelectTasks(TwoByTwo(), ""), out);
  EXPECT_EQ(out.str(), "ps 0 h:1\nps 1 h:2\nworker 0 h:3\nworker 1 h:4\n");
}

TEST(RunStatusTest, FailsNamingUnreachableTasks) {
  FakeClusterAdmin admin;
  admin.answer = [](const TaskTarget& t, int) {
    return t.id.job == "ps" && t.id.index == 1 ? Refused(t) : Answer(t, "ready");
  };
  std::ostringstream out;
  absl::Status status =
      RunStatus(admin, *SelectTasks(TwoByTwo(), ""), absl::Seconds(3), false, out);
  EXPECT_EQ(status, absl::UnavailableError("1 of 4 task(s) did not answer: ps:1 at h:2"));
  EXPECT_THAT(admin.timeouts, ElementsAre(absl::Seconds(3)));
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_TRUE(absl::StartsWith(lines[2], "ps      1     h:2      unreachable")) << lines[2];

  admin.answer = [](const TaskTarget& t, int) { return Answer(t, "ready"); };
  std::ostringstream json;
  EXPECT_TRUE(RunStatus(admin, *SelectTasks(TwoByTwo(), ""), absl::Seconds(2), true, json).ok());
  EXPECT_TRUE(absl::StartsWith(json.str(), "{\"tasks\":[{\"job\":\"ps\"")) << json.str();
}

TEST(RunWaitTest, ReadyAfterSomePolls) {
  FakeClusterAdmin admin;
  admin.answer = [](const TaskTarget& t, int poll) {
    return t.id.job == "ps" && poll < 3 ? Refused(t) : Answer(t, "training");
  };
  SteppingClock clock;
  WaitOptions options;
  options.timeout = absl::Seconds(10);
  std::ostringstream out;
  EXPECT_TRUE(RunWait(admin, &clock, *SelectTasks(TwoByTwo(), ""), options, out).ok());
  EXPECT_EQ(admin.polls, 4);
  EXPECT_EQ(clock.Now() - absl::UnixEpoch(), absl::Milliseconds(1500));
  EXPECT_THAT(Lines(out),
              ElementsAre("waiting for ps:0 at h:1 (unreachable: UNAVAILABLE: Connection refused)",
                          "waiting for ps:1 at h:2 (unreachable: UNAVAILABLE: Connection refused)",
                          "all 4 task(s) ready (answering) after 1.5s"));
}

TEST(RunWaitTest, TimesOutNamingMissingTasksAndReportsPeriodically) {
  FakeClusterAdmin admin;
  admin.answer = [](const TaskTarget& t, int) {
    return t.id.index == 1 ? Refused(t) : Answer(t, "ready");
  };
  SteppingClock clock;
  WaitOptions options;
  options.timeout = absl::Seconds(12);
  std::ostringstream out;
  absl::Status status = RunWait(admin, &clock, *SelectTasks(TwoByTwo(), "worker"), options, out);
  EXPECT_EQ(status, absl::DeadlineExceededError(
                        "timed out after 12s waiting for 1 of 2 task(s) to be ready (answering): "
                        "worker:1 at h:4 (unreachable: UNAVAILABLE: Connection refused)"));
  EXPECT_EQ(clock.Now() - absl::UnixEpoch(), absl::Seconds(12));
  EXPECT_EQ(admin.polls, 25);  // at 0, 0.5, ..., 12 s
  // Progress at 0, 5 and 10 s.
  EXPECT_EQ(Lines(out).size(), 3u) << out.str();
  // Calls get at most rpc_timeout, and at least 1 s near the deadline.
  EXPECT_EQ(admin.timeouts.front(), absl::Seconds(2));
  EXPECT_EQ(admin.timeouts.back(), absl::Seconds(1));
}

TEST(RunWaitTest, DoneWhenExitedOrStateDone) {
  FakeClusterAdmin admin;
  admin.answer = [](const TaskTarget& t, int poll) {
    if (t.id.job == "ps") return Refused(t);
    return Answer(t, poll < 2 || t.id.index == 0 ? "training" : "done");
  };
  SteppingClock clock;
  WaitOptions options;
  options.condition = WaitCondition::kDone;
  options.timeout = absl::Seconds(3);
  std::ostringstream out;
  absl::Status status = RunWait(admin, &clock, *SelectTasks(TwoByTwo(), ""), options, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("1 of 4 task(s) to be done (exited or state \"done\"): "
                                          "worker:0 at h:3 (state training, step 7)"));

  admin.answer = [](const TaskTarget& t, int) {
    return t.id.job == "ps" ? Refused(t) : Answer(t, "done");
  };
  std::ostringstream again;
  EXPECT_TRUE(RunWait(admin, &clock, *SelectTasks(TwoByTwo(), ""), options, again).ok());
}

TEST(RunShutdownTest, WorkersFirstThenPs) {
  FakeClusterAdmin admin;
  admin.shutdown_result = [](const TaskTarget& t) {
    return t.id.job == "ps" && t.id.index == 0 ? absl::UnavailableError("Connection refused")
                                               : absl::OkStatus();
  };
  std::ostringstream out;
  EXPECT_TRUE(
      RunShutdown(admin, *SelectTasks(TwoByTwo(), ""), "test", absl::Seconds(2), out).ok());
  EXPECT_THAT(admin.shutdown_groups, ElementsAre("worker:0 worker:1", "ps:0 ps:1"));
  EXPECT_THAT(Lines(out),
              ElementsAre("worker:0 at h:3: shutting down", "worker:1 at h:4: shutting down",
                          "ps:0 at h:1: not running (UNAVAILABLE: Connection refused)",
                          "ps:1 at h:2: shutting down"));
}

TEST(RunShutdownTest, OtherFailuresAreReturned) {
  FakeClusterAdmin admin;
  admin.shutdown_result = [](const TaskTarget& t) {
    return t.id.job == "worker" ? absl::PermissionDeniedError("bad token") : absl::OkStatus();
  };
  std::ostringstream out;
  absl::Status status =
      RunShutdown(admin, *SelectTasks(TwoByTwo(), ""), "test", absl::Seconds(2), out);
  EXPECT_EQ(status, absl::PermissionDeniedError(
                        "Shutdown failed for 2 task(s): worker:0 at h:3, worker:1 at h:4"));
  EXPECT_THAT(out.str(), HasSubstr("worker:0 at h:3: FAILED: PERMISSION_DENIED: bad token\n"));
}

}  // namespace
}  // namespace tessera
