#include "tools/status_table.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"

namespace tessera {
namespace {

constexpr char kNone[] = "-";

// `value` scaled by `base` until below it, with one decimal from the first
// prefix on: "950 B/s", "1.5 kB/s".
std::string Scaled(double value, double base, const std::vector<const char*>& units) {
  if (!std::isfinite(value) || value < 0) return kNone;
  size_t unit = 0;
  while (value >= base && unit + 1 < units.size()) {
    value /= base;
    ++unit;
  }
  if (unit == 0) return absl::StrFormat("%.0f %s", value, units[0]);
  return absl::StrFormat("%.1f %s", value, units[unit]);
}

std::string OrNone(const std::string& text) { return text.empty() ? kNone : text; }

// "3s", "4m05s", "2h07m": how long ago, to the second below an hour.
std::string FormatAge(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds < 0 ? 0 : seconds);
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

// The task's last error with its age, e.g. "[4m05s ago] Pull ...: ..." (the
// age is left out for a task that does not report it).
std::string LastError(const StatusResponse& r) {
  if (r.last_error_age_secs() <= 0) return r.last_error();
  return absl::StrCat("[", FormatAge(r.last_error_age_secs()), " ago] ", r.last_error());
}

// "1 failed write" / "3 failed writes" (checkpoints and summaries).
std::string WriteErrors(const StatusResponse& r) {
  return absl::StrCat(r.write_errors(), r.write_errors() == 1 ? " failed write" : " failed writes");
}

std::string RpcError(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

bool IsPs(const TaskStatus& task) { return task.target.id.job == kPsJob; }

// "" when the task answered as the task the cluster file names at its address.
std::string IdentityMismatch(const TaskStatus& task) {
  const StatusResponse& r = task.response;
  if (r.job() == task.target.id.job && r.task() == task.target.id.index) return "";
  return absl::StrCat("answers as ", r.job().empty() ? "?" : r.job(), ":", r.task(),
                      ", cluster file says ", task.target.id.ToString());
}

std::vector<std::string> Row(const TaskStatus& task) {
  const TaskTarget& t = task.target;
  std::vector<std::string> row = {t.id.job, absl::StrCat(t.id.index), t.address};
  if (!task.reachable()) {
    row.insert(row.end(), {"unreachable", kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone,
                           kNone, kNone, RpcError(task.rpc_status)});
    return row;
  }
  const StatusResponse& r = task.response;
  row.push_back(OrNone(r.state()));
  row.push_back(OrNone(r.security()));
  row.push_back(r.global_step() < 0 ? kNone : absl::StrCat(r.global_step()));
  if (IsPs(task)) {
    row.insert(row.end(), {kNone, kNone, kNone, kNone, FormatBytesPerSec(r.push_bytes_per_sec()),
                           FormatBytesPerSec(r.pull_bytes_per_sec())});
  } else {
    row.insert(row.end(), {absl::StrCat(r.local_steps()),
                           absl::StrFormat("%.1f", r.images_per_sec()),
                           absl::StrFormat("%.1f%%", 100 * r.input_wait_fraction()),
                           absl::StrFormat("%.4g", r.loss()), kNone, kNone});
  }
  row.push_back(r.rss_bytes() > 0 ? FormatBytes(r.rss_bytes()) : kNone);
  row.push_back(OrNone(r.waiting_for()));
  std::string error = IdentityMismatch(task);
  if (r.write_errors() > 0) {
    error = error.empty() ? WriteErrors(r) : absl::StrCat(error, "; ", WriteErrors(r));
  }
  if (!r.last_error().empty()) {
    const std::string last = LastError(r);
    error = error.empty() ? last : absl::StrCat(error, "; ", last);
  }
  row.push_back(OrNone(error));
  return row;
}

// Rows joined with two spaces between columns; every column but the last is
// padded to its widest cell.
std::string Align(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i + 1 == row.size()) {
        absl::StrAppend(&line, row[i]);
      } else {
        absl::StrAppend(&line, row[i], std::string(width[i] - row[i].size() + 2, ' '));
      }
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string WorkerProgressSection(const std::vector<TaskStatus>& tasks) {
  std::string out;
  for (const TaskStatus& task : tasks) {
    if (!task.reachable() || task.response.workers().empty()) continue;
    absl::StrAppend(&out, "\nworker progress reported to ", task.target.id.ToString(), ":\n");
    std::vector<std::vector<std::string>> rows;
    for (const WorkerProgress& w : task.response.workers()) {
      std::vector<std::string> notes;
      if (w.done()) notes.push_back("done");
      if (w.missing()) notes.push_back("MISSING");
      if (w.holding_back()) notes.push_back("holding back others");
      if (w.pushes_dropped() > 0) notes.push_back(absl::StrCat(w.pushes_dropped(), " pushes dropped"));
      rows.push_back({absl::StrCat("  worker:", w.task()), absl::StrCat("last step ", w.last_step()),
                      absl::StrFormat("%.1f s ago", w.seconds_since()),
                      absl::StrCat(w.pushes(), " pushes"), absl::StrJoin(notes, ", ")});
    }
    absl::StrAppend(&out, Align(rows));
  }
  return out;
}

// One line per ps that reports its limits: what it holds and has open
// against each cap (docs/security.md, "Limits").
std::string LimitsSection(const std::vector<TaskStatus>& tasks) {
  std::vector<std::vector<std::string>> rows;
  for (const TaskStatus& task : tasks) {
    if (!task.reachable() || !IsPs(task) || !task.response.has_limits()) continue;
    const StatusResponse& r = task.response;
    const LimitsStatus& l = r.limits();
    std::string streams = absl::StrCat(l.open_streams(), " streams open");
    if (l.busiest_peer_streams() > 0) {
      absl::StrAppend(&streams, ", most from ", l.busiest_peer(), ": ", l.busiest_peer_streams(),
                      " of ", l.max_streams_per_peer());
    } else {
      absl::StrAppend(&streams, ", ", l.max_streams_per_peer(), " per host");
    }
    rows.push_back({absl::StrCat("  ", task.target.id.ToString()),
                    absl::StrCat("holds ", FormatBytes(r.bytes_held()), " of ",
                                 FormatBytes(l.max_bytes_held())),
                    absl::StrCat(r.num_blocks(), " of ", l.max_blocks(), " blocks"),
                    absl::StrCat("blocks up to ", FormatBytes(l.max_block_bytes())), streams,
                    absl::StrCat(l.refused(), " refused")});
  }
  if (rows.empty()) return "";
  return absl::StrCat("\nps limits (docs/security.md):\n", Align(rows));
}

}  // namespace

std::string FormatBytesPerSec(double bytes_per_sec) {
  return Scaled(bytes_per_sec, 1000.0, {"B/s", "kB/s", "MB/s", "GB/s", "TB/s"});
}

std::string FormatBytes(int64_t bytes) {
  return Scaled(static_cast<double>(bytes), 1024.0, {"B", "KiB", "MiB", "GiB", "TiB"});
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

std::string DescribeTask(const TaskStatus& task) {
  if (!task.reachable()) return absl::StrCat("unreachable: ", RpcError(task.rpc_status));
  const StatusResponse& r = task.response;
  std::vector<std::string> parts = {absl::StrCat("state ", OrNone(r.state()))};
  if (r.global_step() >= 0) parts.push_back(absl::StrCat("step ", r.global_step()));
  if (!r.waiting_for().empty()) parts.push_back(absl::StrCat("waiting for ", r.waiting_for()));
  if (r.write_errors() > 0) parts.push_back(WriteErrors(r));
  if (!r.last_error().empty()) parts.push_back(absl::StrCat("last error: ", LastError(r)));
  return absl::StrJoin(parts, ", ");
}

std::string FormatStatusTable(const std::vector<TaskStatus>& tasks) {
  std::vector<std::vector<std::string>> rows = {
      {"JOB", "TASK", "ADDRESS", "STATE", "SECURITY", "STEP", "LOCAL", "IMG/S", "INPUT", "LOSS", "PUSH", "PULL",
       "RSS", "WAITING_FOR", "LAST_ERROR"}};
  for (const TaskStatus& task : tasks) rows.push_back(Row(task));
  return Align(rows) + WorkerProgressSection(tasks) + LimitsSection(tasks);
}

std::string FormatStatusJson(const std::vector<TaskStatus>& tasks) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::vector<std::string> entries;
  bool all_reachable = true;
  for (const TaskStatus& task : tasks) {
    std::string status_json = "null";
    std::string error;
    if (task.reachable()) {
      status_json.clear();
      auto printed =
          google::protobuf::util::MessageToJsonString(task.response, &status_json, options);
      if (!printed.ok()) {
        status_json = "null";
        error = absl::StrCat("cannot print status as JSON: ", printed.ToString());
      } else {
        error = IdentityMismatch(task);
      }
    } else {
      all_reachable = false;
      error = RpcError(task.rpc_status);
    }
    entries.push_back(absl::StrCat(
        "{\"job\":", JsonQuote(task.target.id.job), ",\"task\":", task.target.id.index,
        ",\"address\":", JsonQuote(task.target.address),
        ",\"reachable\":", task.reachable() ? "true" : "false", ",\"error\":", JsonQuote(error),
        ",\"status\":", status_json, "}"));
  }
  return absl::StrCat("{\"tasks\":[", absl::StrJoin(entries, ","),
                      "],\"all_reachable\":", all_reachable ? "true" : "false", "}\n");
}

}  // namespace tessera
