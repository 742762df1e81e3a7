#include "tools/ckpt_command.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/checkpoint/checkpoint.h"
#include "common/checkpoint/checkpoint_manager.h"
#include "tools/npz_writer.h"

namespace tessera {
namespace {

constexpr char kUsage[] =
    "usage: tessera_ctl ckpt list DIR\n"
    "       tessera_ctl ckpt inspect DIR [--name=ckpt-N]\n"
    "       tessera_ctl ckpt export DIR [--name=ckpt-N] --output=FILE.npz\n";
constexpr int kFirstValues = 5;

struct CkptArgs {
  std::string command;
  std::string dir;
  std::optional<std::string> name;
  std::optional<std::string> output;
};

// Parses the words after "ckpt"; the error says what is wrong.
absl::StatusOr<CkptArgs> ParseArgs(const std::vector<std::string>& args) {
  CkptArgs parsed;
  std::vector<std::string> positional;
  for (const std::string& arg : args) {
    if (absl::StartsWith(arg, "--name=")) {
      parsed.name = arg.substr(7);
    } else if (absl::StartsWith(arg, "--output=")) {
      parsed.output = arg.substr(9);
    } else if (absl::StartsWith(arg, "-")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg));
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty()) return absl::InvalidArgumentError("missing subcommand");
  parsed.command = positional[0];
  if (parsed.command != "list" && parsed.command != "inspect" && parsed.command != "export") {
    return absl::InvalidArgumentError(absl::StrCat("unknown subcommand \"", parsed.command, "\""));
  }
  if (positional.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("ckpt ", parsed.command, " takes one directory, got ", positional.size() - 1,
                     " arguments"));
  }
  parsed.dir = positional[1];
  if (parsed.command == "list" && (parsed.name || parsed.output)) {
    return absl::InvalidArgumentError("ckpt list takes no flags");
  }
  if (parsed.command == "inspect" && parsed.output) {
    return absl::InvalidArgumentError("ckpt inspect does not take --output");
  }
  if (parsed.command == "export" && (!parsed.output || parsed.output->empty())) {
    return absl::InvalidArgumentError("ckpt export needs --output=FILE.npz");
  }
  return parsed;
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, units[unit]);
}

std::string FormatUtc(absl::Time t) {
  if (t == absl::InfinitePast()) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

// "[3, 4]  l2=1.5 min=-1 max=2  [1, 2, 3, 4, 5, ...]"
std::string Summarize(const Tensor& t) {
  std::string out = ShapeString(t.shape());
  if (t.size() == 0) return absl::StrCat(out, "  (empty)");
  double l2 = 0;
  float lo = t[0];
  float hi = t[0];
  for (float v : t.span()) {
    l2 += static_cast<double>(v) * v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  std::vector<std::string> first;
  for (int64_t i = 0; i < std::min<int64_t>(t.size(), kFirstValues); ++i) {
    first.push_back(absl::StrFormat("%.6g", t[i]));
  }
  if (t.size() > kFirstValues) first.push_back("...");
  return absl::StrFormat("%s  l2=%.6g min=%.6g max=%.6g  [%s]", out, std::sqrt(l2), lo, hi,
                         absl::StrJoin(first, ", "));
}

int Fail(const absl::Status& status, std::ostream& err) {
  err << "error: " << status.message() << "\n";
  return 1;
}

int RunList(const std::string& dir, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CheckpointDirectoryListing> listing = ListCheckpoints(dir);
  if (!listing.ok()) return Fail(listing.status(), err);
  if (!listing->state_file.ok() && !absl::IsNotFound(listing->state_file)) {
    err << "warning: state file ignored: " << listing->state_file.message() << "\n";
  }
  if (listing->checkpoints.empty()) {
    out << "no checkpoints in " << dir << "\n";
    return 0;
  }
  out << absl::StrFormat("%-14s %10s  %-23s  %10s  %s\n", "NAME", "STEP", "WRITTEN", "SIZE",
                         "STATUS");
  for (const CheckpointListing& c : listing->checkpoints) {
    std::vector<std::string> notes;
    if (c.latest) notes.push_back("latest");
    if (c.preserved) notes.push_back("preserved");
    if (!c.in_state_file) notes.push_back("not in state file");
    std::string status = c.status.ok()
                             ? "ok"
                             : absl::StrCat("INVALID (", absl::StatusCodeToString(c.status.code()),
                                            "): ", c.status.message());
    if (!notes.empty()) absl::StrAppend(&status, " [", absl::StrJoin(notes, ", "), "]");
    out << absl::StrFormat("%-14s %10d  %-23s  %10s  %s\n", c.name, c.global_step,
                           FormatUtc(c.write_time), FormatBytes(c.total_bytes), status);
  }
  return 0;
}

// The named checkpoint, or the newest that verifies (skips go to `err`).
absl::StatusOr<std::pair<std::string, CheckpointContents>> Load(const CkptArgs& args,
                                                                std::ostream& err) {
  if (args.name) {
    absl::StatusOr<CheckpointContents> contents = ReadCheckpoint(args.dir, *args.name);
    if (!contents.ok()) return contents.status();
    return std::make_pair(*args.name, *std::move(contents));
  }
  absl::StatusOr<RestoredCheckpoint> latest = RestoreLatest(args.dir, "");
  if (!latest.ok()) return latest.status();
  for (const SkippedCheckpoint& s : latest->skipped) {
    err << "warning: skipped " << s.name << ": " << s.reason.message() << "\n";
  }
  return std::make_pair(latest->name, std::move(latest->contents));
}

int RunInspect(const CkptArgs& args, std::ostream& out, std::ostream& err) {
  auto loaded = Load(args, err);
  if (!loaded.ok()) return Fail(loaded.status(), err);
  const auto& [name, c] = *loaded;
  int64_t values = 0;
  int slots = 0;
  for (const CheckpointVariable& v : c.variables) {
    values += v.value.size();
    slots += static_cast<int>(v.slots.size());
  }
  out << "checkpoint: " << name << " in " << args.dir << " (verified)\n"
      << "global_step: " << c.metadata.global_step << "\n"
      << "model_fingerprint: " << c.metadata.model_fingerprint << "\n"
      << "optimizer: " << c.metadata.optimizer << "\n"
      << "written: " << FormatUtc(c.metadata.write_time) << "\n"
      << "variables: " << c.variables.size() << " (" << values << " values), slots: " << slots
      << "\n";
  for (const CheckpointVariable& v : c.variables) {
    out << "  " << v.name
        << (v.kind == TRAINABLE ? "" : absl::StrCat(" (", VariableKind_Name(v.kind), ")")) << "  "
        << Summarize(v.value) << "\n";
    for (const auto& [slot, tensor] : v.slots) {
      out << "    slot " << slot << "  " << Summarize(tensor) << "\n";
    }
  }
  out << "train_config:\n";
  for (absl::string_view line : absl::StrSplit(c.metadata.train_config, '\n', absl::SkipEmpty())) {
    out << "  " << line << "\n";
  }
  return 0;
}

int RunExport(const CkptArgs& args, std::ostream& out, std::ostream& err) {
  auto loaded = Load(args, err);
  if (!loaded.ok()) return Fail(loaded.status(), err);
  const auto& [name, c] = *loaded;
  std::vector<NpzArray> arrays;
  for (const CheckpointVariable& v : c.variables) {
    arrays.push_back({v.name, v.value.shape(), v.value.span()});
    for (const auto& [slot, tensor] : v.slots) {
      arrays.push_back({absl::StrCat(v.name, "/", slot), tensor.shape(), tensor.span()});
    }
  }
  absl::Status written = WriteNpz(*args.output, arrays);
  if (!written.ok()) return Fail(written, err);
  out << "wrote " << arrays.size() << " arrays of " << name << " (step "
      << c.metadata.global_step << ") to " << *args.output << "\n";
  return 0;
}

}  // namespace

int RunCkptCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CkptArgs> parsed = ParseArgs(args);
  if (!parsed.ok()) {
    err << "error: " << parsed.status().message() << "\n" << kUsage;
    return 2;
  }
  if (parsed->command == "list") return RunList(parsed->dir, out, err);
  if (parsed->command == "inspect") return RunInspect(*parsed, out, err);
  return RunExport(*parsed, out, err);
}

}  // namespace tessera
