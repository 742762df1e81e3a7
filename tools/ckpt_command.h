#ifndef TESSERA_TOOLS_CKPT_COMMAND_H_
#define TESSERA_TOOLS_CKPT_COMMAND_H_

// `tessera_ctl ckpt ...`: look into a checkpoint directory (docs/checkpoints.md).
//
//   ckpt list DIR                                   every checkpoint, verified
//   ckpt inspect DIR [--name=ckpt-N]                metadata and tensor summaries
//   ckpt export DIR [--name=ckpt-N] --output=FILE.npz
//                                                   variables as "<var>", slots as
//                                                   "<var>/<slot>", for numpy.load
//
// Without --name, inspect and export use the newest checkpoint that verifies.
// Thread-compatible: no state beyond the streams it is given.

#include <ostream>
#include <string>
#include <vector>

namespace tessera {

// Runs the subcommand in `args` (the words after "ckpt"), writing the report
// to `out` and errors to `err`. Returns the process exit code: 0 on success,
// 1 when the checkpoint cannot be read or written (the message says why), 2
// for a usage error (with the usage text).
int RunCkptCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tessera

#endif  // TESSERA_TOOLS_CKPT_COMMAND_H_
