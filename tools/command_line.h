#ifndef TESSERA_TOOLS_COMMAND_LINE_H_
#define TESSERA_TOOLS_COMMAND_LINE_H_

// The command line of tessera_ctl: checking flag syntax before absl parses it
// (so a bad flag is a usage error, exit 2, rather than absl's exit 1), and
// turning the subcommand and the flag values main read into CtlOptions.
// The flags themselves are defined in main.cc only.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/ctl_commands.h"

namespace tessera {

// Usage text printed by --help and after a usage error.
extern const char kCtlUsage[];

// True when the arguments ask for help (-h, --help, -help, or "help" as the
// command); main then prints kCtlUsage and exits 0.
bool WantsHelp(int argc, char** argv);

// INVALID_ARGUMENT naming the argument when an argument before "--" that
// starts with "-" is not a defined absl flag, lacks a needed value, or has a
// value the flag cannot parse. Does not change any flag's value in a way
// absl::ParseCommandLine would not.
absl::Status CheckFlagSyntax(int argc, char** argv);

// The flag values as main read them; timeout_seconds == kTimeoutNotGiven
// when --timeout was not given.
inline constexpr double kTimeoutNotGiven = -1;
struct FlagValues {
  std::string cluster;
  bool json = false;
  double timeout_seconds = kTimeoutNotGiven;
  std::string wait_for;
  std::string job;
};

enum class Command { kStatus, kWait, kShutdown, kTasks };

struct CtlOptions {
  Command command = Command::kStatus;
  std::string cluster;  // path of the cluster file
  std::string job;      // "" for every job
  bool json = false;
  absl::Duration rpc_timeout = absl::Seconds(2);  // status and shutdown, per task
  WaitOptions wait;                               // wait only
};

// `positional` holds the arguments absl left, without the program name: the
// command alone. INVALID_ARGUMENT naming the problem for a missing or unknown
// command, a missing --cluster, a bad --job/--for/--timeout, or a flag given
// to a command it does not apply to.
absl::StatusOr<CtlOptions> MakeCtlOptions(const std::vector<std::string>& positional,
                                          const FlagValues& flags);

}  // namespace tessera

#endif  // TESSERA_TOOLS_COMMAND_LINE_H_
