#ifndef TESSERA_TOOLS_MODEL_COMMAND_H_
#define TESSERA_TOOLS_MODEL_COMMAND_H_

// `tessera_ctl model ...`: look at a model definition (docs/models.md).
//
//   model summary MODEL.pbtxt    one line per layer (name, type, inputs, output
//                                shape, parameters, multiply-adds per image),
//                                then the totals:
//                                  parameters: N (...)
//                                  multiply-adds per image: N (...)
//
// Thread-compatible: no state beyond the streams it is given.

#include <ostream>
#include <string>
#include <vector>

namespace tessera {

// Runs the subcommand in `args` (the words after "model"), writing the report
// to `out` and errors to `err`. Returns the process exit code: 0 on success,
// 1 when the model file cannot be read or does not make a model (the message
// says why, naming the layer), 2 for a usage error (with the usage text).
int RunModelCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tessera

#endif  // TESSERA_TOOLS_MODEL_COMMAND_H_
