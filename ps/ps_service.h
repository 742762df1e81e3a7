#ifndef TESSERA_PS_PS_SERVICE_H_
#define TESSERA_PS_PS_SERVICE_H_

// The ParameterServer gRPC service (protos/ps_service.proto): converts wire
// messages, calls the VariableStore, converts Status. Nothing else happens
// here. Pull, Snapshot and Push use the raw ByteBuffer fast path of common/rpc/chunk_coding.h
// with gRPC's callback API; CreateVariables and WorkerDone are ordinary typed
// callback methods. Thread-safe; borrows the store and metrics, which must
// outlive the server the service is registered with.

#include <memory>

#include "grpcpp/grpcpp.h"
#include "protos/ps_service.grpc.pb.h"
#include "ps/ps_metrics.h"
#include "ps/variable_store.h"

namespace tessera {

using PsServiceBase = ParameterServer::WithCallbackMethod_CreateVariables<
    ParameterServer::WithCallbackMethod_WorkerDone<ParameterServer::WithRawCallbackMethod_Pull<
        ParameterServer::WithRawCallbackMethod_Push<
            ParameterServer::WithRawCallbackMethod_Snapshot<ParameterServer::Service>>>>>;

class PsService final : public PsServiceBase {
 public:
  PsService(VariableStore* store, PsMetrics* metrics);

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

 private:
  VariableStore* const store_;
  PsMetrics* const metrics_;
};

}  // namespace tessera

#endif  // TESSERA_PS_PS_SERVICE_H_
