#include "ps/ps_service.h"

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/error_kind.h"
#include "common/logging.h"
#include "common/refusal_log.h"
#include "common/rpc/chunk_coding.h"
#include "common/rpc/grpc_status.h"
#include "common/status_macros.h"

namespace tessera {

// Errors to grpc::Status: each is recorded as the ps's last error; refusals
// over a cap (RESOURCE_EXHAUSTED) are counted and logged at most once per
// kRefusalLogInterval, other errors every time. Thread-safe.
class PsReplier {
 public:
  static constexpr absl::Duration kRefusalLogInterval = absl::Seconds(10);

  PsReplier(PsMetrics* metrics, Clock* clock)
      : metrics_(metrics), refusals_(clock, kRefusalLogInterval) {}

  grpc::Status Reply(const absl::Status& status, const char* method,
                     grpc::CallbackServerContext* context) {
    if (!status.ok()) {
      const std::string text =
          absl::StrCat(method, " from ", context->peer(), ": ", status.ToString());
      metrics_->RecordError(text);
      if (status.code() == absl::StatusCode::kResourceExhausted) {
        metrics_->CountRefusal();
        if (std::optional<std::string> line = refusals_.Record(text); line.has_value()) {
          LOG(WARNING) << *line;
        }
      } else {
        LOG(WARNING) << text;
      }
    }
    return ToGrpcStatus(status);
  }

  PsMetrics* metrics() const { return metrics_; }

 private:
  PsMetrics* const metrics_;
  RefusalLog refusals_;
};

namespace {

// Segment `id` of `segments` (null: shared memory is off), or the error that
// makes the worker register a new one.
absl::StatusOr<std::shared_ptr<const MappedSegment>> FindSegment(const SegmentServer* segments,
                                                                 uint64_t id, const char* what) {
  std::shared_ptr<const MappedSegment> segment = segments != nullptr ? segments->Find(id) : nullptr;
  if (segment == nullptr) {
    return WithErrorKind(
        absl::FailedPreconditionError(absl::StrCat(
            what, ": shared segment ", id,
            " is not registered with this ps (it restarted, the worker's registration ended, or "
            "the ps shares no memory)")),
        ErrorKind::kUnknownSegment);
  }
  return segment;
}

// A Pull's segment_offsets by block name (empty: the answer goes from offset
// 0 in answer order), or INVALID_ARGUMENT saying what is wrong with them.
absl::StatusOr<absl::flat_hash_map<std::string, int64_t>> SegmentPlaces(
    const PullRequest& request) {
  absl::flat_hash_map<std::string, int64_t> places;
  if (request.segment_offsets().empty()) return places;
  if (request.segment() == 0 || request.segment_offsets_size() != request.blocks_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PullRequest: ", request.segment_offsets_size(), " segment_offsets for ",
        request.blocks_size(), " blocks", request.segment() == 0 ? " and no segment" : "",
        " (need a segment and one offset per named block)"));
  }
  for (int i = 0; i < request.blocks_size(); ++i) {
    const int64_t offset = request.segment_offsets(i);
    if (offset < 0) {
      return absl::InvalidArgumentError(absl::StrCat("PullRequest: segment offset ", offset,
                                                     " of block '", request.blocks(i),
                                                     "' is negative"));
    }
    if (!places.emplace(request.blocks(i), offset).second) {
      return absl::InvalidArgumentError(absl::StrCat("PullRequest: block '", request.blocks(i),
                                                     "' is named twice with segment_offsets"));
    }
  }
  return places;
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
  // Streams `session` at once (or finishes with its error). `slot` is the
  // stream's (ps/stream_limiter.h), held until the reactor is done.
  ChunkStreamReactor(grpc::CallbackServerContext* context, const char* method,
                     absl::StatusOr<std::unique_ptr<ChunkSource>> session,
                     StreamLimiter::Slot slot, PsReplier* replier)
      : context_(context), method_(method), replier_(replier), metrics_(replier->metrics()),
        slot_(std::move(slot)) {
    metrics_->CountPull();
    if (!session.ok()) {
      FinishStream(replier_->Reply(session.status(), method_, context_));
      return;
    }
    session_ = std::move(*session);
    WriteNext();
  }

  // A Pull: streams once the store says `request` may proceed.
  // With `segment` (the request's), the values go into it, at `places` by
  // block (SegmentPlaces) or else one after another, and the chunks carry
  // only their place.
  ChunkStreamReactor(grpc::CallbackServerContext* context, const PullRequest& request,
                     std::unique_ptr<PullSession> session, VariableStore* store,
                     std::shared_ptr<const MappedSegment> segment,
                     absl::flat_hash_map<std::string, int64_t> places, StreamLimiter::Slot slot,
                     PsReplier* replier)
      : context_(context),
        method_("Pull"),
        replier_(replier),
        metrics_(replier->metrics()),
        store_(store),
        segment_(std::move(segment)),
        segment_id_(request.segment()),
        places_(std::move(places)),
        slot_(std::move(slot)) {
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
        FinishStream(replier_->Reply(status, method_, context_));
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
      FinishStream(grpc::Status(grpc::StatusCode::CANCELLED, absl::StrCat(method_, " cancelled")));
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {  // the client went away or the deadline passed
      FinishStream(grpc::Status(grpc::StatusCode::CANCELLED, absl::StrCat(method_, " cancelled")));
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  // Ends the stream. Its slot is free from here on, before the client sees
  // the end: a client that starts its next stream at once must find it free.
  void FinishStream(grpc::Status status) {
    slot_.Release();
    Finish(std::move(status));
  }

  void WriteNext() {
    if (session_->Done()) {  // nothing requested (a ps without blocks)
      FinishStream(grpc::Status::OK);
      return;
    }
    ChunkHeader header;
    const SharedFloats chunk = session_->NextChunk(kStreamChunkElements, &header);
    const size_t bytes = static_cast<size_t>(chunk.size()) * ElementBytes(header.encoding());
    if (segment_ != nullptr) {
      // A client that gave up may already read its next answer from this
      // segment (its PsClient makes a new one after a failed call; this
      // narrows the window further).
      if (context_->IsCancelled()) {
        FinishStream(
            grpc::Status(grpc::StatusCode::CANCELLED, absl::StrCat(method_, " cancelled")));
        return;
      }
      if (!places_.empty()) {
        // A place past the segment's end stays there for Range to refuse.
        const auto place = places_.find(header.block());
        const int64_t base = place != places_.end() ? place->second : -1;
        segment_offset_ = base < 0 || base > static_cast<int64_t>(segment_->size())
                              ? base
                              : base + header.offset() * static_cast<int64_t>(sizeof(float));
      }
      absl::StatusOr<char*> place =
          segment_->Range(segment_offset_, bytes,
                          absl::StrCat("Pull answer for block '", header.block(),
                                       "' into shared segment ", segment_id_)
                              .c_str());
      if (!place.ok()) {
        FinishStream(replier_->Reply(place.status(), method_, context_));
        return;
      }
      std::memcpy(*place, chunk.data(), bytes);
      header.set_segment(segment_id_);
      header.set_segment_offset(segment_offset_);
      header.set_segment_bytes(static_cast<int64_t>(bytes));
      segment_offset_ += static_cast<int64_t>(bytes);
      out_ = EncodeChunk(header, nullptr, 0, nullptr);
    } else if (header.encoding() == BFLOAT16) {
      // The piece's bfloat16 copy, converted once for every pull of these values.
      Bfloat16Buffer* wire = chunk.buffer()->Bfloat16Copy();
      out_ = EncodeChunk(header, wire->data() + chunk.offset(), bytes, wire);  // its own reference
      wire->Unref();
    } else {
      out_ = EncodeChunk(header, chunk.data(), bytes, chunk.owner());  // takes its own reference
    }
    metrics_->AddPulledBytes(static_cast<int64_t>(bytes));
    if (session_->Done()) {
      slot_.Release();  // before the client can see the end (FinishStream)
      StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      StartWrite(&out_);
    }
  }

  grpc::CallbackServerContext* const context_;
  const char* const method_;
  PsReplier* const replier_;
  PsMetrics* const metrics_;
  VariableStore* const store_ = nullptr;  // Pull only
  const std::shared_ptr<const MappedSegment> segment_;  // Pull into shared memory only
  const uint64_t segment_id_ = 0;
  // Where each block's values go in it (empty: one after another).
  const absl::flat_hash_map<std::string, int64_t> places_;
  int64_t segment_offset_ = 0;  // where the next chunk goes in it
  StreamLimiter::Slot slot_;  // released when finishing, else with the reactor
  std::unique_ptr<ChunkSource> session_;
  grpc::ByteBuffer out_;
  absl::Mutex mu_;
  uint64_t wait_id_ ABSL_GUARDED_BY(mu_) = 0;  // the registered wait, 0 when none
};

// Receives the chunks of one Push and applies each as it arrives.
class PushReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  // `slot` is the stream's (ps/stream_limiter.h), held until the reactor is
  // done; a refused one finishes the call with its error before any read.
  PushReactor(grpc::CallbackServerContext* context, grpc::ByteBuffer* response,
              VariableStore* store, const SegmentServer* segments,
              absl::StatusOr<StreamLimiter::Slot> slot, PsReplier* replier)
      : context_(context),
        response_(response),
        replier_(replier),
        metrics_(replier->metrics()),
        segments_(segments) {
    metrics_->CountPush();
    if (!slot.ok()) {
      FinishStream(replier_->Reply(slot.status(), "Push", context_));
      return;
    }
    slot_ = std::move(*slot);
    session_ = store->StartPush();
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // end of the request stream
      if (context_->IsCancelled()) {
        FinishStream(grpc::Status(grpc::StatusCode::CANCELLED, "Push cancelled"));
        return;
      }
      absl::StatusOr<PushResponse> response = session_->Finish();
      if (response.ok()) *response_ = SerializeToByteBuffer(*response);
      FinishStream(replier_->Reply(response.status(), "Push", context_));
      return;
    }
    absl::Status status = ApplyChunk();
    in_.Clear();
    if (!status.ok()) {
      FinishStream(replier_->Reply(status, "Push", context_));
      return;
    }
    StartRead(&in_);
  }

  void OnDone() override { delete this; }

 private:
  // Ends the stream, its slot free first (as ChunkStreamReactor's).
  void FinishStream(grpc::Status status) {
    slot_.Release();
    Finish(std::move(status));
  }

  absl::Status ApplyChunk() {
    ChunkHeader header;
    ChunkView view;
    RETURN_IF_ERROR(ParseChunk(in_, &header, &view));
    if (header.segment() != 0) return ApplySegmentChunk(header, view);
    const int64_t bytes = static_cast<int64_t>(view.payload_bytes());
    RETURN_IF_ERROR(session_->BeginChunk(header, bytes));
    metrics_->AddPushedBytes(bytes);
    return session_->CommitChunk([&view](int64_t element, absl::Span<float> out) {
      view.CopyFloats(element, static_cast<int64_t>(out.size()), out.data());
    });
  }

  // A chunk whose payload is in a shared segment (ChunkHeader.segment).
  absl::Status ApplySegmentChunk(const ChunkHeader& header, const ChunkView& view) {
    if (view.payload_bytes() != 0 || header.encoding() != FLOAT32 || header.kind() != GRADIENT) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Push chunk of block '", header.block(),
          "': a chunk in a shared segment must be a FLOAT32 GRADIENT chunk without data; this one ",
          view.payload_bytes() != 0
              ? absl::StrCat("carries ", view.payload_bytes(), " bytes of data")
          : header.encoding() != FLOAT32
              ? absl::StrCat("is ", TensorEncoding_Name(header.encoding()))
              : absl::StrCat("is ", ChunkKind_Name(header.kind()))));
    }
    if (segment_ == nullptr || segment_id_ != header.segment()) {
      ASSIGN_OR_RETURN(segment_, FindSegment(segments_, header.segment(), "Push"));
      segment_id_ = header.segment();
    }
    const int64_t bytes = header.segment_bytes();
    ASSIGN_OR_RETURN(
        const char* payload,
        segment_->Range(header.segment_offset(), bytes,
                        absl::StrCat("Push chunk of block '", header.block(), "'").c_str()));
    RETURN_IF_ERROR(session_->BeginChunk(header, bytes));
    metrics_->AddPushedBytes(bytes);
    if (header.segment_offset() % static_cast<int64_t>(sizeof(float)) == 0) {
      // Aligned floats: used where they are (SYNC sums them when the step
      // completes; the worker leaves them alone until then).
      return session_->CommitSharedChunk(
          absl::MakeConstSpan(reinterpret_cast<const float*>(payload),
                              static_cast<size_t>(bytes) / sizeof(float)),
          segment_);
    }
    return session_->CommitChunk([payload](int64_t element, absl::Span<float> out) {
      std::memcpy(out.data(), payload + element * sizeof(float), out.size() * sizeof(float));
    });
  }

  grpc::CallbackServerContext* const context_;
  grpc::ByteBuffer* const response_;
  PsReplier* const replier_;
  PsMetrics* const metrics_;
  const SegmentServer* const segments_;           // borrowed; null: no shared memory
  std::shared_ptr<const MappedSegment> segment_;  // the stream's, once a chunk named it
  uint64_t segment_id_ = 0;
  StreamLimiter::Slot slot_;               // released when finishing, else with the reactor
  std::unique_ptr<PushSession> session_;  // null when refused
  grpc::ByteBuffer in_;
};

}  // namespace

PsService::PsService(VariableStore* store, PsMetrics* metrics, Clock* clock,
                     int max_streams_per_peer)
    : store_(store),
      replier_(std::make_unique<PsReplier>(metrics, clock)),
      streams_(max_streams_per_peer) {}

PsService::~PsService() = default;

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
  reactor->Finish(replier_->Reply(result.status(), "CreateVariables", context));
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
  reactor->Finish(replier_->Reply(result.status(), "WorkerDone", context));
  return reactor;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* PsService::Pull(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* request) {
  absl::StatusOr<StreamLimiter::Slot> slot = streams_.Acquire(PeerHost(context->peer()), "Pull");
  if (!slot.ok()) {
    return new ChunkStreamReactor(context, "Pull", slot.status(), StreamLimiter::Slot(),
                                  replier_.get());
  }
  PullRequest parsed;
  absl::Status status = ParseFromByteBuffer(*request, &parsed, "PullRequest");
  std::shared_ptr<const MappedSegment> segment;
  absl::flat_hash_map<std::string, int64_t> places;
  if (status.ok()) {
    absl::StatusOr<absl::flat_hash_map<std::string, int64_t>> found = SegmentPlaces(parsed);
    if (found.ok()) {
      places = std::move(*found);
    } else {
      status = found.status();
    }
  }
  if (status.ok() && parsed.segment() != 0) {
    if (parsed.encoding() != FLOAT32) {
      status =
          absl::InvalidArgumentError("PullRequest: an answer into a shared segment is FLOAT32");
    } else {
      absl::StatusOr<std::shared_ptr<const MappedSegment>> found =
          FindSegment(segments_, parsed.segment(), "Pull");
      if (found.ok()) {
        segment = std::move(*found);
      } else {
        status = found.status();
      }
    }
  }
  absl::StatusOr<std::unique_ptr<PullSession>> session =
      status.ok() ? store_->StartPull(parsed) : status;
  if (!session.ok()) {
    return new ChunkStreamReactor(context, "Pull", session.status(), std::move(*slot),
                                  replier_.get());
  }
  return new ChunkStreamReactor(context, parsed, std::move(*session), store_, std::move(segment),
                                std::move(places), std::move(*slot), replier_.get());
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* PsService::Snapshot(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  absl::StatusOr<StreamLimiter::Slot> slot =
      streams_.Acquire(PeerHost(context->peer()), "Snapshot");
  if (!slot.ok()) {
    return new ChunkStreamReactor(context, "Snapshot", slot.status(), StreamLimiter::Slot(),
                                  replier_.get());
  }
  return new ChunkStreamReactor(
      context, "Snapshot",
      StartSource<SnapshotRequest>(
          *request, "SnapshotRequest",
          [this](const SnapshotRequest& r) { return store_->StartSnapshot(r); }),
      std::move(*slot), replier_.get());
}

grpc::ServerReadReactor<grpc::ByteBuffer>* PsService::Push(grpc::CallbackServerContext* context,
                                                           grpc::ByteBuffer* response) {
  return new PushReactor(context, response, store_, segments_,
                         streams_.Acquire(PeerHost(context->peer()), "Push"), replier_.get());
}

}  // namespace tessera
