#ifndef TESSERA_PS_VARIABLES_REQUEST_H_
#define TESSERA_PS_VARIABLES_REQUEST_H_

// Checks and comparisons of a CreateVariablesRequest (protos/ps_service.proto)
// before the store creates anything from it. Pure functions, thread-compatible.

#include <string>

#include "absl/status/status.h"
#include "common/tensor.h"
#include "protos/ps_service.pb.h"

namespace tessera {

// The block's shape as the store holds it.
Shape ShapeOf(const BlockSpec& spec);

// Replicas to aggregate, with 0 meaning every worker.
int ReplicasToAggregate(const CreateVariablesRequest& request);

// OK, or INVALID_ARGUMENT "CreateVariables: ..." / "block '<name>' ..." naming
// the first problem: empty fingerprint, num_workers < 1, bad update mode or
// SYNC/STALE settings, unnamed or duplicate blocks, bad or empty shapes,
// unknown kinds, negative row offsets.
absl::Status ValidateCreateRequest(const CreateVariablesRequest& request);

// "" when `held` and `request` describe the same blocks, optimizer and
// settings; else the first difference, worded as `held` "here" and `request`
// "in the request".
std::string FirstDifference(const CreateVariablesRequest& held,
                            const CreateVariablesRequest& request);

}  // namespace tessera

#endif  // TESSERA_PS_VARIABLES_REQUEST_H_
