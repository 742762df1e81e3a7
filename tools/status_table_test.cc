#include "tools/status_table.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using google::protobuf::Struct;

TaskStatus Ps(int index) {
  TaskStatus t{{{"ps", index}, "n1:2222"}, absl::OkStatus(), {}};
  t.response.set_job("ps");
  t.response.set_task(index);
  t.response.set_state("ready");
  t.response.set_security("mtls+token");
  t.response.set_global_step(1200);
  t.response.set_push_bytes_per_sec(12.34e6);
  t.response.set_pull_bytes_per_sec(950);
  t.response.set_rss_bytes(220LL << 20);
  return t;
}

TaskStatus Worker(int index) {
  TaskStatus t{{{"worker", index}, "n2:2223"}, absl::OkStatus(), {}};
  t.response.set_job("worker");
  t.response.set_task(index);
  t.response.set_state("waiting");
  t.response.set_security("insecure");
  t.response.set_global_step(-1);
  t.response.set_local_steps(30);
  t.response.set_images_per_sec(412.25);
  t.response.set_input_wait_fraction(0.025);
  t.response.set_loss(0.5);
  t.response.set_waiting_for("variables from ps:1");
  return t;
}

TaskStatus Unreachable() {
  return {{{"ps", 1}, "n3:2222"}, absl::UnavailableError("Connection refused"), {}};
}

// The cells of each line: columns are separated by two or more spaces.
std::vector<std::vector<std::string>> Cells(const std::string& table) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line : absl::StrSplit(table, '\n', absl::SkipEmpty())) {
    std::vector<std::string> cells;
    for (absl::string_view cell : absl::StrSplit(line, "  ", absl::SkipEmpty())) {
      cell = absl::StripAsciiWhitespace(cell);
      if (!cell.empty()) cells.emplace_back(cell);
    }
    rows.push_back(cells);
  }
  return rows;
}

TEST(StatusTableTest, HumanUnits) {
  EXPECT_EQ(FormatBytesPerSec(0), "0 B/s");
  EXPECT_EQ(FormatBytesPerSec(950), "950 B/s");
  EXPECT_EQ(FormatBytesPerSec(12.34e6), "12.3 MB/s");
  EXPECT_EQ(FormatBytesPerSec(1.25e9), "1.2 GB/s");
  EXPECT_EQ(FormatBytesPerSec(-1), "-");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(220LL << 20), "220.0 MiB");
  EXPECT_EQ(FormatBytes(3LL << 30), "3.0 GiB");
}

TEST(StatusTableTest, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
}

TEST(StatusTableTest, RowsPerJob) {
  std::string table = FormatStatusTable({Ps(0), Worker(0), Unreachable()});
  auto rows = Cells(table);
  ASSERT_EQ(rows.size(), 4u) << table;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"JOB", "TASK", "ADDRESS", "STATE", "SECURITY",
                                               "STEP", "LOCAL", "IMG/S", "INPUT", "LOSS", "PUSH",
                                               "PULL", "RSS", "WAITING_FOR", "LAST_ERROR"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"ps", "0", "n1:2222", "ready", "mtls+token", "1200",
                                               "-", "-", "-", "-", "12.3 MB/s", "950 B/s",
                                               "220.0 MiB", "-", "-"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"worker", "0", "n2:2223", "waiting", "insecure",
                                               "-", "30", "412.2", "2.5%", "0.5", "-", "-", "-",
                                               "variables from ps:1", "-"}));
  EXPECT_EQ(rows[3], (std::vector<std::string>{"ps", "1", "n3:2222", "unreachable", "-", "-", "-",
                                               "-", "-", "-", "-", "-", "-", "-",
                                               "UNAVAILABLE: Connection refused"}));
  // Columns line up: every row has its ADDRESS at the same offset.
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  const char* const addresses[] = {"ADDRESS", "n1:2222", "n2:2223", "n3:2222"};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].find(addresses[i]), 14u) << lines[i];
  }
}

TEST(StatusTableTest, MismatchedIdentityAndLastErrorShown) {
  TaskStatus t = Worker(1);
  t.response.set_task(0);
  t.response.set_last_error("pull timed out");
  auto rows = Cells(FormatStatusTable({t}));
  EXPECT_EQ(rows[1].back(), "answers as worker:0, cluster file says worker:1; pull timed out");
  t.response.set_last_error_age_secs(245.7);
  rows = Cells(FormatStatusTable({t}));
  EXPECT_EQ(rows[1].back(),
            "answers as worker:0, cluster file says worker:1; [4m05s ago] pull timed out");
  t.response.set_last_error_age_secs(7384);
  EXPECT_EQ(Cells(FormatStatusTable({t}))[1].back(),
            "answers as worker:0, cluster file says worker:1; [2h03m ago] pull timed out");
}

TEST(StatusTableTest, FailedWritesCountedBeforeTheLastError) {
  TaskStatus t = Worker(0);
  t.response.set_write_errors(3);
  t.response.set_last_error(
      "checkpoint at global step 200 not written: cannot write to "
      "/ckpt/ckpt-200.data.tmp: No space left on device");
  EXPECT_EQ(Cells(FormatStatusTable({t}))[1].back(),
            "3 failed writes; checkpoint at global step 200 not written: cannot write to "
            "/ckpt/ckpt-200.data.tmp: No space left on device");
  t.response.set_write_errors(1);
  EXPECT_EQ(DescribeTask(t),
            "state waiting, waiting for variables from ps:1, 1 failed write, last error: "
            "checkpoint at global step 200 not "
            "written: cannot write to /ckpt/ckpt-200.data.tmp: No space left on device");
}

TEST(StatusTableTest, WorkerProgressSectionFromPs) {
  TaskStatus ps = Ps(0);
  WorkerProgress* w = ps.response.add_workers();
  w->set_task(1);
  w->set_last_step(118);
  w->set_seconds_since(3.25);
  w->set_done(true);
  w->set_pushes(60);
  WorkerProgress* dead = ps.response.add_workers();
  dead->set_task(2);
  dead->set_last_step(40);
  dead->set_seconds_since(75);
  dead->set_pushes(20);
  dead->set_pushes_dropped(3);
  dead->set_missing(true);
  dead->set_holding_back(true);
  std::string table = FormatStatusTable({ps});
  EXPECT_NE(table.find("\nworker progress reported to ps:0:\n"), std::string::npos) << table;
  EXPECT_NE(table.find("  worker:1  last step 118  3.2 s ago   60 pushes  done\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("  worker:2  last step 40   75.0 s ago  20 pushes  MISSING, holding back "
                       "others, 3 pushes dropped\n"),
            std::string::npos)
      << table;
}

TEST(StatusTableTest, DescribeTask) {
  EXPECT_EQ(DescribeTask(Unreachable()), "unreachable: UNAVAILABLE: Connection refused");
  EXPECT_EQ(DescribeTask(Worker(0)), "state waiting, waiting for variables from ps:1");
  EXPECT_EQ(DescribeTask(Ps(0)), "state ready, step 1200");
}

TEST(StatusTableTest, JsonHasEveryTaskAndParses) {
  std::string json = FormatStatusJson({Ps(0), Unreachable()});
  ASSERT_EQ(json.back(), '\n');
  Struct root;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &root).ok()) << json;
  EXPECT_FALSE(root.fields().at("all_reachable").bool_value());
  const auto& tasks = root.fields().at("tasks").list_value().values();
  ASSERT_EQ(tasks.size(), 2);
  const auto& ps = tasks[0].struct_value().fields();
  EXPECT_EQ(ps.at("job").string_value(), "ps");
  EXPECT_EQ(ps.at("task").number_value(), 0);
  EXPECT_EQ(ps.at("address").string_value(), "n1:2222");
  EXPECT_TRUE(ps.at("reachable").bool_value());
  EXPECT_EQ(ps.at("error").string_value(), "");
  const auto& status = ps.at("status").struct_value().fields();
  EXPECT_EQ(status.at("state").string_value(), "ready");
  EXPECT_EQ(status.at("global_step").string_value(), "1200");
  EXPECT_EQ(status.at("last_error").string_value(), "");  // default fields are present
  const auto& down = tasks[1].struct_value().fields();
  EXPECT_FALSE(down.at("reachable").bool_value());
  EXPECT_EQ(down.at("error").string_value(), "UNAVAILABLE: Connection refused");
  EXPECT_EQ(down.at("status").kind_case(), google::protobuf::Value::kNullValue);
}

TEST(StatusTableTest, LimitsSectionFromPs) {
  TaskStatus ps = Ps(0);
  ps.response.set_bytes_held(int64_t{3} << 29);
  ps.response.set_num_blocks(12);
  LimitsStatus* limits = ps.response.mutable_limits();
  limits->set_max_bytes_held(int64_t{18} << 30);
  limits->set_max_blocks(1000000);
  limits->set_max_block_bytes(int64_t{4} << 30);
  limits->set_max_streams_per_peer(64);
  limits->set_open_streams(3);
  limits->set_busiest_peer("ipv4:10.0.0.5");
  limits->set_busiest_peer_streams(2);
  limits->set_refused(1992);
  TaskStatus idle = Ps(1);
  idle.target.id.index = 1;
  idle.response.mutable_limits()->set_max_bytes_held(1 << 20);
  idle.response.mutable_limits()->set_max_blocks(5);
  idle.response.mutable_limits()->set_max_block_bytes(1024);
  idle.response.mutable_limits()->set_max_streams_per_peer(8);
  std::string table = FormatStatusTable({ps, idle, Worker(0)});
  EXPECT_NE(table.find("\nps limits (docs/security.md):\n"
                       "  ps:0  holds 1.5 GiB of 18.0 GiB  12 of 1000000 blocks  blocks up to "
                       "4.0 GiB  3 streams open, most from ipv4:10.0.0.5: 2 of 64  1992 refused\n"
                       "  ps:1  holds 0 B of 1.0 MiB       0 of 5 blocks         blocks up to "
                       "1.0 KiB  0 streams open, 8 per host                        0 refused\n"),
            std::string::npos)
      << table;
  // Nothing when no ps reports limits (older ps builds).
  EXPECT_EQ(FormatStatusTable({Ps(0)}).find("ps limits"), std::string::npos);
}

}  // namespace
}  // namespace tessera
