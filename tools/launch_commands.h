#ifndef TESSERA_TOOLS_LAUNCH_COMMANDS_H_
#define TESSERA_TOOLS_LAUNCH_COMMANDS_H_

// The launch subcommands of tessera_ctl (docs/launching.md):
//
//   make-cluster (--nodes=FILE | --nodes_list=LIST) --ps=N [--workers=M]
//                [--port=P] [--layout=cyclic|block|listed] [--tasks_per_node=T]
//       writes the cluster JSON for the job's nodes on stdout
//   launch-role --cluster=FILE
//       prints "JOB TASK" for this process, from its launcher's rank
//
// They have flags of their own, so main dispatches them before parsing.
// Each returns the exit code: 0 success, 1 failure (message on `err`), 2 usage
// error. Thread-compatible: no state beyond the streams given.

#include <ostream>
#include <string>
#include <vector>

#include "tools/launcher_env.h"

namespace tessera {

// `args` are the words after "make-cluster".
int RunMakeCluster(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// `args` are the words after "launch-role"; `env` is the process environment
// and `local_names` this host's names and addresses (main passes both in).
// Writes "JOB TASK\n" on `out`; on `err` one line saying which variable gave
// the rank, and a WARNING when the task's host in the cluster file is not
// this host or the launcher started a different number of ranks than the
// cluster has tasks (the role is still printed: exit 0).
int RunLaunchRole(const std::vector<std::string>& args, const EnvironmentMap& env,
                  const std::vector<std::string>& local_names, std::ostream& out,
                  std::ostream& err);

// This host's name (gethostname), its canonical name when the resolver knows
// one, and the addresses of its interfaces; for RunLaunchRole.
std::vector<std::string> LocalHostNames();

}  // namespace tessera

#endif  // TESSERA_TOOLS_LAUNCH_COMMANDS_H_
