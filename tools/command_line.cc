#include "tools/command_line.h"

#include <cmath>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tessera {

const char kCtlUsage[] =
    R"(usage: tessera_ctl COMMAND --cluster=FILE [flags]

commands:
  status    --cluster=FILE [--json] [--timeout=SECONDS] [--job=JOB]
            one row per task: state, global step, worker progress, ps rates,
            memory, what it waits for, last error (--timeout: per task, default 2)
  wait      --cluster=FILE --for=ready|done --timeout=SECONDS [--job=JOB]
            poll until every task answers (ready), or has exited or reports
            state "done" (done); --timeout is the whole wait
  shutdown  --cluster=FILE [--job=JOB] [--timeout=SECONDS]
            ask the workers, then the ps tasks, to finish and exit
  tasks     --cluster=FILE [--job=JOB]
            print "job index address" for each task, one per line
  ckpt list DIR | inspect DIR [--name=ckpt-N] | export DIR [--name=ckpt-N] --output=FILE.npz
            checkpoints: list with step, time, size and validity; show
            variables; export to NumPy (docs/checkpoints.md)
  model summary MODEL.pbtxt
            one line per layer: name, type, inputs, output shape, parameters,
            multiply-adds per image; then the totals (docs/models.md)
  make-cluster (--nodes=FILE | --nodes_list=LIST) --ps=N [--workers=M] [--port=P]
               [--layout=cyclic|block|listed] [--tasks_per_node=T]
            cluster JSON on stdout for a batch job's nodes: FILE is a PBS
            nodefile (one host per line) or holds a Slurm host list; LIST is
            a Slurm host list such as "nid[0001-0004,0007]". Tasks in rank
            order (ps first, then workers) go where the launcher puts rank r:
            cyclic (default): node r mod N, port P + r div N (srun -m cyclic,
            mpirun --map-by node; the ps on the first nodes, one worker per
            node); block: node r div T, port P + r mod T (aprun -N T);
            listed: entry r of the list, repeats kept (job arrays).
            Default port 2222 (docs/launching.md)
  launch-role --cluster=FILE
            print "JOB TASK" for this process from its launcher's rank
            (TESSERA_RANK, OMPI_COMM_WORLD_RANK, PMI_RANK, ALPS_APP_PE,
            SLURM_PROCID, SLURM_ARRAY_TASK_ID, PBS_ARRAY_INDEX, PBS_ARRAYID:
            first set wins); warns when the task's host is not this host

security (status, wait, shutdown; docs/security.md):
  --security_dir=DIR    the job's ca.pem, cert.pem, key.pem and token, as
                        scripts/run_local.sh and the job scripts make them
  --tls_ca=FILE --tls_cert=FILE --tls_key=FILE --token_file=FILE
                        the same, one file each (a flag wins over DIR's file)

JOB is ps, worker or evaluator (default: every job).
exit status: 0 success; 1 failure (a task did not answer, timeout, bad cluster
file); 2 usage error.
)";

namespace {

absl::Status CheckOneFlag(absl::string_view name, bool has_value, absl::string_view value,
                          int* i, int argc, char** argv) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
    absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name.substr(2));
    if (negated != nullptr && negated->IsOfType<bool>()) return absl::OkStatus();
  }
  if (flag == nullptr || flag->IsRetired()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
  }
  if (!has_value) {
    if (flag->IsOfType<bool>()) return absl::OkStatus();
    if (*i + 1 >= argc) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    value = argv[++*i];
  }
  std::string error;
  if (!flag->ParseFrom(value, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad value \"", value, "\" for --", name, ": ", error));
  }
  return absl::OkStatus();
}

absl::Status NotFor(absl::string_view flag, absl::string_view command) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " does not apply to \"", command, "\""));
}

}  // namespace

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help" || arg == "-help" || (i == 1 && arg == "help")) {
      return true;
    }
  }
  return false;
}

absl::Status CheckFlagSyntax(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    size_t eq = arg.find('=');
    bool has_value = eq != absl::string_view::npos;
    absl::string_view name = arg.substr(0, eq);
    absl::string_view value = has_value ? arg.substr(eq + 1) : absl::string_view();
    absl::Status status = CheckOneFlag(name, has_value, value, &i, argc, argv);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<CtlOptions> MakeCtlOptions(const std::vector<std::string>& positional,
                                          const FlagValues& flags) {
  if (positional.empty()) return absl::InvalidArgumentError("no command given");
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument(s) after \"", positional[0], "\": ",
        absl::StrJoin(positional.begin() + 1, positional.end(), " ")));
  }
  const std::string& name = positional[0];
  CtlOptions options;
  if (name == "status") {
    options.command = Command::kStatus;
  } else if (name == "wait") {
    options.command = Command::kWait;
  } else if (name == "shutdown") {
    options.command = Command::kShutdown;
  } else if (name == "tasks") {
    options.command = Command::kTasks;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown command \"", name, "\""));
  }
  if (flags.cluster.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" needs --cluster=FILE"));
  }
  options.cluster = flags.cluster;
  if (!flags.job.empty() && flags.job != "ps" && flags.job != "worker" &&
      flags.job != "evaluator") {
    return absl::InvalidArgumentError(
        absl::StrCat("--job=", flags.job, ": want ps, worker or evaluator"));
  }
  options.job = flags.job;
  if (flags.json && options.command != Command::kStatus) return NotFor("json", name);
  if (!flags.wait_for.empty() && options.command != Command::kWait) return NotFor("for", name);
  const bool has_timeout = flags.timeout_seconds != kTimeoutNotGiven;
  if (has_timeout && options.command == Command::kTasks) return NotFor("timeout", name);
  if (has_timeout && (!std::isfinite(flags.timeout_seconds) || flags.timeout_seconds <= 0 ||
                      flags.timeout_seconds > 1e6)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout=", flags.timeout_seconds, ": want seconds > 0"));
  }
  options.json = flags.json;
  const absl::Duration timeout = absl::Seconds(flags.timeout_seconds);
  if (options.command == Command::kWait) {
    if (flags.wait_for == "ready") {
      options.wait.condition = WaitCondition::kReady;
    } else if (flags.wait_for == "done") {
      options.wait.condition = WaitCondition::kDone;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("wait needs --for=ready or --for=done, got \"", flags.wait_for, "\""));
    }
    if (!has_timeout) return absl::InvalidArgumentError("wait needs --timeout=SECONDS");
    options.wait.timeout = timeout;
  } else if (has_timeout) {
    options.rpc_timeout = timeout;
  }
  return options;
}

}  // namespace tessera
