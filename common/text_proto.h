#ifndef TESSERA_COMMON_TEXT_PROTO_H_
#define TESSERA_COMMON_TEXT_PROTO_H_

// Text-format protobuf parsing with errors that say where:
// "examples/mnist.pbtxt:12:5: Message type "tessera.TrainConfig" has no field
// named "batchsize"." Thread-safe.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace tessera {

// Parses `text` into `message` (cleared first). INVALID_ARGUMENT with
// "source:line:column: problem" for the first error.
absl::Status ParseTextProto(absl::string_view text, absl::string_view source,
                            google::protobuf::Message* message);

// Reads and parses the file at `path`; `what` names it in a read error
// ("cannot read model file x.pbtxt: ...").
absl::Status ReadTextProtoFile(const std::string& path, absl::string_view what,
                               google::protobuf::Message* message);

}  // namespace tessera

#endif  // TESSERA_COMMON_TEXT_PROTO_H_
