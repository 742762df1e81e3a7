#ifndef TESSERA_TOOLS_LAUNCHER_ENV_H_
#define TESSERA_TOOLS_LAUNCHER_ENV_H_

// Which task a process is, from the variables its launcher (mpirun, srun,
// aprun, a PBS or Slurm job array) set: the launcher's rank r, then the task
// of rank r in the cluster. Ranks 0 .. num_ps-1 are ps 0 .. num_ps-1; rank
// num_ps + i is worker i (evaluators get no rank). `tessera_ctl make-cluster`
// lays the cluster out in that same rank order (docs/launching.md).
//
// Pure functions of what main passes in (the environment, this host's names);
// thread-safe.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/cluster/cluster_spec.h"

namespace tessera {

using EnvironmentMap = std::map<std::string, std::string>;

// The variables a rank is read from, first match wins: set by hand, then the
// innermost launchers (a process started by mpirun inside a Slurm or PBS job
// sees both; mpirun's rank is its own), then the job-array indexes.
// SLURM_PROCID counts only inside an srun step (SLURM_STEP_ID set): Slurm also
// sets it to 0 in the batch script itself.
inline constexpr const char* kRankVariables[] = {
    "TESSERA_RANK",          // by hand or by a script
    "OMPI_COMM_WORLD_RANK",  // Open MPI mpirun / mpiexec
    "PMI_RANK",              // MPICH, Intel MPI (Hydra), srun --mpi=pmi2
    "ALPS_APP_PE",           // Cray aprun
    "SLURM_PROCID",          // srun
    "SLURM_ARRAY_TASK_ID",   // sbatch --array
    "PBS_ARRAY_INDEX",       // PBS Pro qsub -J
    "PBS_ARRAYID",           // Torque qsub -t
};

struct LauncherRank {
  int rank = 0;
  std::string variable;  // which of kRankVariables gave it
  // How many ranks the launcher started, when it says (OMPI_COMM_WORLD_SIZE,
  // PMI_SIZE, SLURM_NTASKS in a step, SLURM_ARRAY_TASK_COUNT); else nullopt.
  std::optional<int> size;
  std::string size_variable;
};

// The rank from the first of kRankVariables that is set. NOT_FOUND listing
// every variable when none is; INVALID_ARGUMENT naming the variable when its
// value is not a whole number >= 0, or when an srun step with several tasks
// runs inside a job-array element (SLURM_PROCID and SLURM_ARRAY_TASK_ID
// disagree about who is who; the message says to set TESSERA_RANK).
absl::StatusOr<LauncherRank> RankFromEnvironment(const EnvironmentMap& env);

// The task of `rank`: ps first, then workers. INVALID_ARGUMENT naming the rank,
// `rank_source` and the valid range when the cluster has no task for it.
absl::StatusOr<TaskId> TaskForRank(const ClusterSpec& cluster, int rank,
                                   absl::string_view rank_source);

// True when `task_host` (from the cluster file) names this machine: a
// loopback name or address, or equal (ignoring case) to one of `local_names`
// (host name, fully qualified name, addresses), or the same short name
// ("n1" and "n1.cluster.org").
bool IsLocalHost(absl::string_view task_host, const std::vector<std::string>& local_names);

}  // namespace tessera

#endif  // TESSERA_TOOLS_LAUNCHER_ENV_H_
