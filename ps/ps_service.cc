#include "ps/ps_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/rpc/chunk_coding.h"
#include "common/rpc/grpc_status.h"
#include "common/status_macros.h"
#include "common/logging.h"

namespace tessera {
namespace {


grpc::Status Reply(const absl::Status& status, const char* method,
                   grpc::CallbackServerContext* context, PsMetrics* metrics) {
  if (!status.ok()) {
    const std::string text = absl::StrCat(method, " from ", context->peer(), ": ", status.ToString());
    LOG(WARNING) << text;
    metrics->RecordError(text);
  }
  return ToGrpcStatus(status);
}

// Starts the session of a Pull or Snapshot whose request is in `request`.
template <typename Request, typename Start>
absl::StatusOr<std::unique_ptr<ChunkSource>> StartSource(const grpc::ByteBuffer& request,
                                                         const char* what, Start start) {
  Request parsed;
  RETURN_IF_ERROR(ParseFromByteBuffer(request, &parsed, what));
  ASSIGN_OR_RETURN(auto session, start(parsed));
  return std::unique_ptr<ChunkSource>(std::move(session));
}

// Streams the chunks of one Pull or Snapshot, one write in flight at a time.
// A Pull that must wait (SYNC, STALE) first waits on the store's waiter
// thread, holding no gRPC thread; its first write starts from there.
class ChunkStreamReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // Streams `session` at once (or finishes with its error).
  ChunkStreamReactor(grpc::CallbackServerContext* context, const char* method,
                     absl::StatusOr<std::unique_ptr<ChunkSource>> session, PsMetrics* metrics)
      : context_(context), method_(method), metrics_(metrics) {
    metrics_->CountPull();
    if (!session.ok()) {
      Finish(Reply(session.status(), method_, context_, metrics_));
      return;
    }
    session_ = std::move(*session);
    WriteNext();
  }

  // A Pull: streams once the store says `request` may proceed.
  ChunkStreamReactor(grpc::CallbackServerContext* context, const PullRequest& request,
                     std::unique_ptr<PullSession> session, VariableStore* store,
                     PsMetrics* metrics)
      : context_(context), method_("Pull"), metrics_(metrics), store_(store) {
    metrics_->CountPull();
    const PullSession* pull = session.get();
    session_ = std::move(session);
    if (store_->PullReady(request, *pull)) {
      WriteNext();
      return;
    }
    // The callback may run (on the waiter thread) before WaitForPull returns;
    // gRPC queues its StartWrite or Finish until the reactor is bound, and
    // OnCancel, which needs the id, cannot run before that either.
    const uint64_t id = store_->WaitForPull(request, pull, [this](absl::Status status) {
      if (status.ok()) {
        WriteNext();
      } else {
        Finish(Reply(status, method_, context_, metrics_));
      }
    });
    absl::MutexLock lock(&mu_);
    wait_id_ = id;
  }

  void OnCancel() override {
    uint64_t id = 0;
    {
      absl::MutexLock lock(&mu_);
      id = wait_id_;
    }
    // Only a withdrawn wait finishes here; else the wait's callback did or
    // will (CancelPullWait is false once it started).
    if (id != 0 && store_->CancelPullWait(id)) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, absl::StrCat(method_, " cancelled")));
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the client went away or the deadline passed
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, absl::StrCat(method_, " cancelled")));
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (session_->Done()) {  // nothing requested (a ps without blocks)
      Finish(grpc::Status::OK);
      return;
    }
    ChunkHeader header;
    const SharedFloats chunk = session_->NextChunk(kStreamChunkElements, &header);
    const size_t bytes = static_cast<size_t>(chunk.size()) * sizeof(float);
    out_ = EncodeChunk(header, chunk.data(), bytes, chunk.owner());  // takes its own reference
    metrics_->AddPulledBytes(static_cast<int64_t>(bytes));
    if (session_->Done()) {
      StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      StartWrite(&out_);
    }
  }

  grpc::CallbackServerContext* const context_;
  const char* const method_;
  PsMetrics* const metrics_;
  VariableStore* const store_ = nullptr;  // Pull only
  std::unique_ptr<ChunkSource> session_;
  grpc::ByteBuffer out_;
  absl::Mutex mu_;
  uint64_t wait_id_ ABSL_GUARDED_BY(mu_) = 0;  // the registered wait, 0 when none
};

// Receives the chunks of one Push and applies each as it arrives.
class PushReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  PushReactor(grpc::CallbackServerContext* context, grpc::ByteBuffer* response,
              VariableStore* store, PsMetrics* metrics)
      : context_(context), response_(response), metrics_(metrics), session_(store->StartPush()) {
    metrics_->CountPush();
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // end of the request stream
      if (context_->IsCancelled()) {
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "Push cancelled"));
        return;
      }
      absl::StatusOr<PushResponse> response = session_->Finish();
      if (response.ok()) *response_ = SerializeToByteBuffer(*response);
      Finish(Reply(response.status(), "Push", context_, metrics_));
      return;
    }
    absl::Status status = ApplyChunk();
    in_.Clear();
    if (!status.ok()) {
      Finish(Reply(status, "Push", context_, metrics_));
      return;
    }
    StartRead(&in_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status ApplyChunk() {
    ChunkHeader header;
    ChunkView view;
    RETURN_IF_ERROR(ParseChunk(in_, &header, &view));
    const int64_t bytes = static_cast<int64_t>(view.payload_bytes());
    RETURN_IF_ERROR(session_->BeginChunk(header, bytes));
    metrics_->AddPushedBytes(bytes);
    return session_->CommitChunk([&view](int64_t element, absl::Span<float> out) {
      view.CopyPayloadRange(static_cast<size_t>(element) * sizeof(float),
                            out.size() * sizeof(float), out.data());
    });
  }

  grpc::CallbackServerContext* const context_;
  grpc::ByteBuffer* const response_;
  PsMetrics* const metrics_;
  const std::unique_ptr<PushSession> session_;
  grpc::ByteBuffer in_;
};

}  // namespace

PsService::PsService(VariableStore* store, PsMetrics* metrics)
    : store_(store), metrics_(metrics) {}

grpc::ServerUnaryReactor* PsService::CreateVariables(grpc::CallbackServerContext* context,
                                                     const CreateVariablesRequest* request,
                                                     CreateVariablesResponse* response) {
  absl::StatusOr<CreateVariablesResponse> result = store_->CreateVariables(*request);
  if (result.ok()) {
    *response = std::move(*result);
    LOG(INFO) << (response->created() ? "created " : "already had ") << request->blocks_size()
              << " blocks for model " << request->fingerprint() << " (from " << context->peer()
              << ")";
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(Reply(result.status(), "CreateVariables", context, metrics_));
  return reactor;
}

grpc::ServerUnaryReactor* PsService::WorkerDone(grpc::CallbackServerContext* context,
                                                const WorkerDoneRequest* request,
                                                WorkerDoneResponse* response) {
  absl::StatusOr<WorkerDoneResponse> result = store_->WorkerDone(*request);
  if (result.ok()) {
    *response = std::move(*result);
    LOG(INFO) << "worker " << request->worker_task() << " is done at step "
              << request->last_step() << " (" << response->workers_done() << " done)";
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(Reply(result.status(), "WorkerDone", context, metrics_));
  return reactor;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* PsService::Pull(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* request) {
  PullRequest parsed;
  absl::Status status = ParseFromByteBuffer(*request, &parsed, "PullRequest");
  absl::StatusOr<std::unique_ptr<PullSession>> session =
      status.ok() ? store_->StartPull(parsed) : status;
  if (!session.ok()) {
    return new ChunkStreamReactor(context, "Pull", session.status(), metrics_);
  }
  return new ChunkStreamReactor(context, parsed, std::move(*session), store_, metrics_);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* PsService::Snapshot(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  return new ChunkStreamReactor(
      context, "Snapshot",
      StartSource<SnapshotRequest>(
          *request, "SnapshotRequest",
          [this](const SnapshotRequest& r) { return store_->StartSnapshot(r); }),
      metrics_);
}

grpc::ServerReadReactor<grpc::ByteBuffer>* PsService::Push(grpc::CallbackServerContext* context,
                                                           grpc::ByteBuffer* response) {
  return new PushReactor(context, response, store_, metrics_);
}

}  // namespace tessera
