#ifndef TESSERA_COMMON_RPC_GRPC_STATUS_H_
#define TESSERA_COMMON_RPC_GRPC_STATUS_H_

// Conversion between absl::Status and grpc::Status. Used only at the RPC
// boundary (*_service.cc, *_client.cc); everything behind it speaks absl::Status.
// The two code spaces are numerically identical (both follow google.rpc.Code).
// An error's kind (common/error_kind.h) travels in the status details as
// kErrorKindDetailsPrefix + its name; details of any other form are ignored.

#include "absl/status/status.h"
#include "common/error_kind.h"
#include "grpcpp/support/status.h"

namespace tessera {

inline constexpr char kErrorKindDetailsPrefix[] = "tessera.error_kind:";

grpc::Status ToGrpcStatus(const absl::Status& status);

// `context` (e.g. "Pull from ps 1 at host:2222") is put before the message of a
// failed status so errors name the peer they came from.
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view context = "");

}  // namespace tessera

#endif  // TESSERA_COMMON_RPC_GRPC_STATUS_H_
