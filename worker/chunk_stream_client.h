#ifndef TESSERA_WORKER_CHUNK_STREAM_CLIENT_H_
#define TESSERA_WORKER_CHUNK_STREAM_CLIENT_H_

// The client side of the ps's chunk streams (protos/ps_service.proto: Pull,
// Push and Snapshot as generic gRPC streams of raw TensorChunk buffers,
// common/rpc/chunk_coding.h), for PsClient (worker/ps_client.cc).

#include <chrono>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "common/rpc/chunk_coding.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace tessera {

// One streaming call on its own completion queue, driven one operation at a
// time from the calling thread (so no other thread is involved). Not
// thread-safe.
class StreamCall {
 public:
  StreamCall(grpc::GenericStub* stub, const char* method,
             std::chrono::system_clock::time_point deadline) {
    context_.set_deadline(deadline);
    call_ = stub->PrepareCall(&context_, method, &cq_);
    call_->StartCall(this);
    started_ = Wait();
  }
  ~StreamCall() {
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  bool started() const { return started_; }
  bool Write(const grpc::ByteBuffer& message) {
    call_->Write(message, this);
    return Wait();
  }
  bool WritesDone() {
    call_->WritesDone(this);
    return Wait();
  }
  // Starts a read; Wait() tells whether a message arrived.
  void StartRead(grpc::ByteBuffer* message) { call_->Read(message, this); }
  bool Read(grpc::ByteBuffer* message) {
    StartRead(message);
    return Wait();
  }
  bool Wait() {
    void* tag;
    bool ok = false;
    return cq_.Next(&tag, &ok) && ok;
  }
  void Cancel() { context_.TryCancel(); }
  grpc::Status Finish() {
    grpc::Status status;
    call_->Finish(&status, this);
    Wait();
    return status;
  }

 private:
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool started_ = false;
};

// Sends `request` on a new `method` stream and hands each chunk of the answer,
// in order, to `on_chunk` until the stream ends or `on_chunk` fails (then the
// call is cancelled). The next chunk is read while `on_chunk` copies this
// one. Returns the first error: on_chunk's, a malformed chunk's, or the call's.
absl::Status ReceiveChunks(
    grpc::GenericStub* stub, const char* method, std::chrono::system_clock::time_point deadline,
    const grpc::ByteBuffer& request,
    absl::FunctionRef<absl::Status(const ChunkHeader&, const ChunkView&)> on_chunk);

}  // namespace tessera

#endif  // TESSERA_WORKER_CHUNK_STREAM_CLIENT_H_
