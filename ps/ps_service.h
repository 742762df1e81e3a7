#ifndef TESSERA_PS_PS_SERVICE_H_
#define TESSERA_PS_PS_SERVICE_H_

// The ParameterServer gRPC service (protos/ps_service.proto): converts wire
// messages, calls the VariableStore, converts Status. Nothing else happens
// here. Pull, Snapshot and Push use the raw ByteBuffer fast path of common/rpc/chunk_coding.h
// with gRPC's callback API; CreateVariables and WorkerDone are ordinary typed
// callback methods. Thread-safe; borrows the store, metrics and clock, which
// must outlive the server the service is registered with.
//
// Limits (docs/security.md): each client host may have at most
// max_streams_per_peer Pull, Push and Snapshot streams open at once
// (ps/stream_limiter.h); one more is refused RESOURCE_EXHAUSTED before it
// starts. Every refusal over a cap (that one and the store's CreateVariables
// caps) is counted in the metrics, shown as the last error, and logged as a
// warning at most once per 10 s with a count of the ones not logged.
//
// Shared memory: a GRADIENT push chunk or a Pull may name a segment of the
// worker's (common/rpc/shared_segment.h) instead of carrying the bytes; an
// unknown id is FAILED_PRECONDITION of kind UNKNOWN_SEGMENT, a range outside
// the segment INVALID_ARGUMENT.

#include <memory>

#include "common/clock.h"
#include "common/rpc/segment_server.h"
#include "grpcpp/grpcpp.h"
#include "protos/ps_service.grpc.pb.h"
#include "ps/ps_metrics.h"
#include "ps/stream_limiter.h"
#include "ps/variable_store.h"

namespace tessera {

class PsReplier;  // ps_service.cc: errors to grpc::Status, recorded and logged

using PsServiceBase = ParameterServer::WithCallbackMethod_CreateVariables<
    ParameterServer::WithCallbackMethod_WorkerDone<ParameterServer::WithRawCallbackMethod_Pull<
        ParameterServer::WithRawCallbackMethod_Push<
            ParameterServer::WithRawCallbackMethod_Snapshot<ParameterServer::Service>>>>>;

class PsService final : public PsServiceBase {
 public:
  PsService(VariableStore* store, PsMetrics* metrics, Clock* clock, int max_streams_per_peer);
  ~PsService() override;

  grpc::ServerUnaryReactor* CreateVariables(grpc::CallbackServerContext* context,
                                            const CreateVariablesRequest* request,
                                            CreateVariablesResponse* response) override;
  grpc::ServerUnaryReactor* WorkerDone(grpc::CallbackServerContext* context,
                                       const WorkerDoneRequest* request,
                                       WorkerDoneResponse* response) override;
  // Request: a serialized PullRequest. Response stream: TensorChunks.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Pull(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request) override;
  // Request: a serialized SnapshotRequest. Response stream: TensorChunks.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Snapshot(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request) override;
  // Request stream: TensorChunks. Response: a serialized PushResponse.
  grpc::ServerReadReactor<grpc::ByteBuffer>* Push(grpc::CallbackServerContext* context,
                                                  grpc::ByteBuffer* response) override;

  // Streams open now, per client host.
  StreamLimiter::Usage stream_usage() const { return streams_.usage(); }

  // The shared segments of the workers of this host (borrowed; null: none),
  // which Push and Pull chunks may name (docs/protocol.md, "Shared memory").
  // Set before the server starts serving.
  void set_segments(const SegmentServer* segments) { segments_ = segments; }

 private:
  VariableStore* const store_;
  const SegmentServer* segments_ = nullptr;
  const std::unique_ptr<PsReplier> replier_;  // never null
  StreamLimiter streams_;
};

}  // namespace tessera

#endif  // TESSERA_PS_PS_SERVICE_H_
