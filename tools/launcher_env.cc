#include "tools/launcher_env.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tessera {
namespace {

const std::string* Find(const EnvironmentMap& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? nullptr : &it->second;
}

// A whole number >= 0 (surrounding blanks allowed), or nullopt.
std::optional<int> ParseCount(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  int value = 0;
  if (text.empty() || !absl::ascii_isdigit(text[0]) || !absl::SimpleAtoi(text, &value)) {
    return std::nullopt;
  }
  return value;
}

// The size variable that goes with a rank variable, if the launcher sets one.
const char* SizeVariableFor(absl::string_view rank_variable) {
  if (rank_variable == "OMPI_COMM_WORLD_RANK") return "OMPI_COMM_WORLD_SIZE";
  if (rank_variable == "PMI_RANK") return "PMI_SIZE";
  if (rank_variable == "SLURM_PROCID") return "SLURM_NTASKS";
  if (rank_variable == "SLURM_ARRAY_TASK_ID") return "SLURM_ARRAY_TASK_COUNT";
  return nullptr;
}

bool IsLoopback(absl::string_view host) {
  return absl::EqualsIgnoreCase(host, "localhost") || host == "::1" ||
         absl::StartsWith(host, "127.");
}

bool LooksLikeAddress(absl::string_view host) {
  for (char c : host) {
    if (!absl::ascii_isdigit(c) && c != '.' && c != ':') return false;
  }
  return true;
}

absl::string_view ShortName(absl::string_view host) { return host.substr(0, host.find('.')); }

}  // namespace

absl::StatusOr<LauncherRank> RankFromEnvironment(const EnvironmentMap& env) {
  for (const char* name : kRankVariables) {
    const std::string* value = Find(env, name);
    if (value == nullptr) continue;
    const std::string variable = name;
    if (variable == "SLURM_PROCID" && Find(env, "SLURM_STEP_ID") == nullptr) continue;
    std::optional<int> rank = ParseCount(*value);
    if (!rank.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          variable, "=\"", *value, "\" is not a rank (want a whole number >= 0)"));
    }
    LauncherRank result{*rank, variable, std::nullopt, ""};
    if (const char* size_name = SizeVariableFor(variable); size_name != nullptr) {
      if (const std::string* size = Find(env, size_name); size != nullptr) {
        result.size = ParseCount(*size);
        if (result.size.has_value()) result.size_variable = size_name;
      }
    }
    if (variable == "SLURM_PROCID" && Find(env, "SLURM_ARRAY_TASK_ID") != nullptr &&
        result.size.value_or(1) > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ambiguous rank: an srun step of ", *result.size,
          " tasks (SLURM_PROCID) inside job-array element SLURM_ARRAY_TASK_ID=",
          *Find(env, "SLURM_ARRAY_TASK_ID"),
          "; run one task per array element, or set TESSERA_RANK for each process"));
    }
    return result;
  }
  std::vector<std::string> names(std::begin(kRankVariables), std::end(kRankVariables));
  return absl::NotFoundError(absl::StrCat(
      "no launcher rank in the environment: none of ", absl::StrJoin(names, ", "),
      " is set (SLURM_PROCID counts only inside srun); start this under mpirun, srun, aprun or "
      "a job array, or set TESSERA_RANK"));
}

absl::StatusOr<TaskId> TaskForRank(const ClusterSpec& cluster, int rank,
                                   absl::string_view rank_source) {
  const int num_ps = cluster.num_ps();
  const int total = num_ps + cluster.num_workers();
  if (rank < 0 || rank >= total) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rank ", rank, " (from ", rank_source, ") has no task: ", cluster.source(), " has ",
        num_ps, " ps and ", cluster.num_workers(), " worker task(s), ranks 0-", total - 1,
        " (job arrays must be numbered from 0, e.g. #PBS -J 0-", total - 1, ")"));
  }
  if (rank < num_ps) return TaskId{kPsJob, rank};
  return TaskId{kWorkerJob, rank - num_ps};
}

bool IsLocalHost(absl::string_view task_host, const std::vector<std::string>& local_names) {
  if (IsLoopback(task_host)) return true;
  for (const std::string& name : local_names) {
    if (absl::EqualsIgnoreCase(task_host, name)) return true;
    if (!LooksLikeAddress(task_host) && !LooksLikeAddress(name) &&
        absl::EqualsIgnoreCase(ShortName(task_host), ShortName(name))) {
      return true;
    }
  }
  return false;
}

}  // namespace tessera
