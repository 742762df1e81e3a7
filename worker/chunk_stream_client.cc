#include "worker/chunk_stream_client.h"

#include "common/rpc/grpc_status.h"
#include "common/status_macros.h"

namespace tessera {

absl::Status ReceiveChunks(
    grpc::GenericStub* stub, const char* method, std::chrono::system_clock::time_point deadline,
    const grpc::ByteBuffer& request,
    absl::FunctionRef<absl::Status(const ChunkHeader&, const ChunkView&)> on_chunk) {
  StreamCall call(stub, method, deadline);
  absl::Status error;
  if (call.started() && call.Write(request) && call.WritesDone()) {
    // Two buffers: the next chunk arrives while this one is copied.
    grpc::ByteBuffer buffers[2];
    int current = 0;
    bool more = call.Read(&buffers[current]);
    while (more) {
      call.StartRead(&buffers[1 - current]);
      ChunkHeader header;
      ChunkView view;
      error = ParseChunk(buffers[current], &header, &view);
      if (error.ok()) error = on_chunk(header, view);
      if (!error.ok()) call.Cancel();
      buffers[current].Clear();
      more = call.Wait();
      current = 1 - current;
      if (!error.ok()) break;
    }
  }
  grpc::Status status = call.Finish();
  RETURN_IF_ERROR(error);
  return FromGrpcStatus(status);
}

}  // namespace tessera
