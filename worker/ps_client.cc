#include "worker/ps_client.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/error_kind.h"
#include "common/logging.h"
#include "common/rpc/channel.h"
#include "common/rpc/chunk_coding.h"
#include "common/rpc/chunk_sizes.h"
#include "common/rpc/grpc_status.h"
#include "common/rpc/local_socket.h"
#include "common/rpc/shared_segment.h"
#include "common/status_macros.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "protos/ps_service.grpc.pb.h"
#include "worker/answer_assembler.h"
#include "worker/chunk_stream_client.h"
#include "worker/client_segments.h"

namespace tessera {
namespace {

constexpr char kPullMethod[] = "/tessera.ParameterServer/Pull";
constexpr char kPushMethod[] = "/tessera.ParameterServer/Push";
constexpr char kSnapshotMethod[] = "/tessera.ParameterServer/Snapshot";
// A DEADLINE_EXCEEDED this close to the call's own deadline is the call's
// (Retry below): gRPC's timer may fire slightly before system_clock's.
constexpr std::chrono::milliseconds kDeadlineSlack(100);
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
// Short, so a restarted ps is used within about a second of answering again.
constexpr absl::Duration kMaxBackoff = absl::Seconds(1);

}  // namespace

// One call at a time, except one Push and one Pull at once (ps_connection.h).
class PsClient final : public PsConnection {
 public:
  PsClient(const std::string& address, const PsClientOptions& options);
  PsClient(const PsClient&) = delete;
  PsClient& operator=(const PsClient&) = delete;
  ~PsClient() override;

  const std::string& address() const override { return address_; }

  absl::StatusOr<CreateVariablesResponse> CreateVariables(
      const CreateVariablesRequest& request) override;
  // Copies each chunk once, straight into `destinations`.
  absl::StatusOr<PullResult> Pull(const PullRequest& request,
                                  absl::Span<const absl::Span<float>> destinations,
                                  const BlockArrived& arrived = nullptr) override;
  // Sends in chunks of at most chunk_elements, without a copy: returns after
  // gRPC released `values`.
  absl::StatusOr<PushResponse> Push(const ChunkHeader& fields, absl::Span<const std::string> blocks,
                                    absl::Span<const absl::Span<const float>> values,
                                    absl::Span<const std::string> slots = {},
                                    const AwaitBlock& await_block = nullptr) override;
  absl::StatusOr<SnapshotResult> Snapshot(const SnapshotRequest& request,
                                          const SnapshotSink& sink) override;
  absl::StatusOr<WorkerDoneResponse> WorkerDone(const WorkerDoneRequest& request) override;
  bool can_share_memory() const override { return segments_.enabled(); }
  void ShareTensorMemory(std::shared_ptr<SharedMemory> memory) override {
    segments_.ShareTensors(std::move(memory));
  }

 private:
  using Deadline = std::chrono::system_clock::time_point;

  // Runs attempt(deadline), each time with the deadline now + rpc_timeout +
  // `extra`, until it returns anything but UNAVAILABLE or unavailable_timeout
  // passes; prefixes errors with "`rpc` to ps N at ADDRESS", and says so when
  // an attempt ran out of its deadline: "...: no answer within its deadline
  // of 1m (rpc_timeout_secs): Deadline Exceeded".
  template <typename Result, typename Attempt>
  absl::StatusOr<Result> Retry(const char* rpc, absl::Duration extra, Attempt attempt);

  // `arrivals` counts the blocks handed to `arrived` (nullptr: none);
  // `in_place` says whether the values went straight into the destinations
  // in the shared tensors (ClientSegments::Tensors).
  absl::StatusOr<PullResult> PullOnce(const PullRequest& request,
                                      absl::Span<const absl::Span<float>> destinations,
                                      const BlockArrived* arrived, size_t* arrivals,
                                      Deadline deadline, bool* in_place);
  absl::StatusOr<PushResponse> PushOnce(const ChunkHeader& fields,
                                        absl::Span<const std::string> blocks,
                                        absl::Span<const absl::Span<const float>> values,
                                        absl::Span<const std::string> slots,
                                        const AwaitBlock& await_block, Deadline deadline,
                                        bool* in_place);
  absl::StatusOr<SnapshotResult> SnapshotOnce(const SnapshotRequest& request,
                                              const SnapshotSink& sink, Deadline deadline);

  const std::string address_;
  const PsClientOptions options_;
  Clock* const clock_;
  ClientSegments segments_;  // shared memory with a ps of this host
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ParameterServer::Stub> stub_;
  std::unique_ptr<grpc::GenericStub> generic_stub_;
};


absl::StatusOr<std::unique_ptr<PsConnection>> NewPsClient(const std::string& address,
                                                          const PsClientOptions& options) {
  if (address.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("ps ", options.ps_task, ": empty address"));
  }
  return std::make_unique<PsClient>(address, options);
}

PsClient::PsClient(const std::string& address, const PsClientOptions& options)
    : address_(address),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : RealClock::Get()),
      segments_(options.shared_memory ? SegmentSocketPath(options.local_socket) : "",
                options.ps_task, options.worker_task, clock_) {
  // Own TCP connection per client (so parallel clients do not share one);
  // a restarted ps is noticed within seconds. A connection attempt without
  // an answer within 1 s is UNAVAILABLE, which Retry retries: a ps whose
  // host is gone must not hold a call until its deadline.
  ChannelOptions channel;
  channel.min_connect_timeout = absl::Seconds(1);
  channel.max_reconnect_backoff = absl::Seconds(2);
  channel.security = options.security;
  channel.local_socket = options.local_socket;
  channel_ = NewChannel(address_, channel);
  stub_ = ParameterServer::NewStub(channel_);
  generic_stub_ = std::make_unique<grpc::GenericStub>(channel_);
}

PsClient::~PsClient() = default;

template <typename Result, typename Attempt>
absl::StatusOr<Result> PsClient::Retry(const char* rpc, absl::Duration extra, Attempt attempt) {
  const std::string context = absl::StrCat(rpc, " to ps ", options_.ps_task, " at ", address_);
  const absl::Duration timeout = options_.rpc_timeout + extra;
  const absl::Time start = clock_->Now();
  absl::Time last_log = absl::InfinitePast();
  absl::Duration backoff = kFirstBackoff;
  absl::BitGen jitter;
  bool waiting = false;
  while (true) {
    const Deadline deadline = std::chrono::system_clock::now() +
                              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                  absl::ToChronoNanoseconds(timeout));
    absl::StatusOr<Result> result = attempt(deadline);
    if (waiting && result.status().code() != absl::StatusCode::kUnavailable &&
        options_.on_waiting) {
      options_.on_waiting("");
    }
    if (result.ok()) return result;
    // Ours, not the ps's (SYNC timeout): gRPC times the deadline on its own
    // clock and can end the call a little before system_clock reaches it (a
    // CI run once lost the annotation that way), hence the slack.
    if (result.status().code() == absl::StatusCode::kDeadlineExceeded &&
        std::chrono::system_clock::now() + kDeadlineSlack >= deadline) {
      return Annotate(result.status(),
                      absl::StrCat(context, ": no answer within its deadline of ",
                                   absl::FormatDuration(timeout), " (rpc_timeout_secs",
                                   extra > absl::ZeroDuration()
                                       ? " plus the longest wait of a SYNC or STALE Pull)"
                                       : ")"));
    }
    if (result.status().code() != absl::StatusCode::kUnavailable) {
      return Annotate(result.status(), context);
    }
    if (options_.on_waiting) {
      options_.on_waiting(absl::StrCat("ps ", options_.ps_task, " at ", address_, " (",
                                       result.status().ToString(), ")"));
      waiting = true;
    }
    const absl::Time now = clock_->Now();
    if (options_.cancelled != nullptr && options_.cancelled->load()) {
      return Annotate(result.status(), absl::StrCat(context, ": not retried (stopping)"));
    }
    std::string hint = HandshakeHint(result.status().message(), options_.security);
    if (hint.empty() && !options_.local_socket.empty() &&
        absl::StrContains(result.status().message(), "No such file or directory")) {
      hint =
          absl::StrCat("(hint: if this persists, the ps does not listen on ", options_.local_socket,
                       ": start every task of the job with the same --local_socket_dir, or "
                       "give the workers --local_socket_dir=none)");
    }
    if (now - start >= options_.unavailable_timeout) {
      return Annotate(result.status(),
                      absl::StrCat(context, ": gave up after ", absl::FormatDuration(now - start),
                                   " of UNAVAILABLE", hint.empty() ? "" : " ", hint));
    }
    if (now - last_log >= options_.log_interval) {
      LOG(INFO) << "waiting for ps " << options_.ps_task << " at " << address_ << " ("
                << result.status().ToString() << ")" << (hint.empty() ? "" : " ") << hint;
      last_log = now;
    }
    const absl::Duration sleep = std::min(backoff * absl::Uniform(jitter, 0.8, 1.2),
                                          options_.unavailable_timeout - (now - start));
    clock_->SleepFor(sleep);
    backoff = std::min(backoff * 1.6, kMaxBackoff);
  }
}

absl::StatusOr<CreateVariablesResponse> PsClient::CreateVariables(
    const CreateVariablesRequest& request) {
  return Retry<CreateVariablesResponse>(
      "CreateVariables", absl::ZeroDuration(),
      [&](Deadline deadline) -> absl::StatusOr<CreateVariablesResponse> {
        grpc::ClientContext context;
        context.set_deadline(deadline);
        CreateVariablesResponse response;
        RETURN_IF_ERROR(FromGrpcStatus(stub_->CreateVariables(&context, request, &response)));
        return response;
      });
}

absl::StatusOr<WorkerDoneResponse> PsClient::WorkerDone(const WorkerDoneRequest& request) {
  return Retry<WorkerDoneResponse>(
      "WorkerDone", absl::ZeroDuration(),
      [&](Deadline deadline) -> absl::StatusOr<WorkerDoneResponse> {
        grpc::ClientContext context;
        context.set_deadline(deadline);
        WorkerDoneResponse response;
        RETURN_IF_ERROR(FromGrpcStatus(stub_->WorkerDone(&context, request, &response)));
        return response;
      });
}

absl::StatusOr<PsClient::PullResult> PsClient::Pull(
    const PullRequest& request, absl::Span<const absl::Span<float>> destinations,
    const BlockArrived& arrived) {
  if (request.blocks().empty() || request.blocks_size() != static_cast<int>(destinations.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Pull from ps ", options_.ps_task, " at ", address_, ": ", request.blocks_size(),
        " blocks named for ", destinations.size(), " destinations (need one per block, >= 1)"));
  }
  // A waiting Pull (SYNC, STALE) is held by the ps until the others caught up.
  const absl::Duration wait =
      request.min_version() > 0 ? options_.pull_wait : absl::ZeroDuration();
  size_t arrivals = 0;
  return Retry<PullResult>("Pull", wait, [&](Deadline deadline) -> absl::StatusOr<PullResult> {
    bool in_place = false;
    absl::StatusOr<PullResult> result = PullOnce(
        request, destinations, arrived ? &arrived : nullptr, &arrivals, deadline, &in_place);
    if (GetErrorKind(result.status()) == ErrorKind::kUnknownSegment) {  // the ps restarted
      segments_.Drop(ClientSegments::kPull);
      result = PullOnce(request, destinations, arrived ? &arrived : nullptr, &arrivals, deadline,
                        &in_place);
    }
    // The ps may still write an answer this side gave up on.
    segments_.AfterCall(ClientSegments::kPull, result.status(), in_place);
    if (arrivals > 0 && absl::IsUnavailable(result.status())) {
      return PullBrokeAfterArrivals(result.status(), arrivals, destinations.size());
    }
    return result;
  });
}

absl::StatusOr<PsClient::PullResult> PsClient::PullOnce(
    const PullRequest& request, absl::Span<const absl::Span<float>> destinations,
    const BlockArrived* arrived, size_t* arrivals, Deadline deadline, bool* in_place) {
  BlockArrived counted;
  if (arrived != nullptr) {
    counted = [arrived, arrivals](size_t block) {
      ++*arrivals;
      (*arrived)(block);
    };
  }
  PullRequest asked = request;
  // In place when every destination lies in the shared tensors.
  std::shared_ptr<SharedSegment> tensors =
      request.encoding() == FLOAT32 ? segments_.Tensors(ClientSegments::kPull) : nullptr;
  for (absl::Span<float> d : destinations) {
    if (tensors == nullptr) break;
    const int64_t place = tensors->memory().OffsetOf(d.data(), d.size() * sizeof(float));
    if (place < 0) tensors = nullptr;
    asked.add_segment_offsets(place);
  }
  *in_place = tensors != nullptr;
  SharedSegment* segment = tensors.get();
  if (segment == nullptr) {
    asked.clear_segment_offsets();
    size_t bytes = 0;
    for (absl::Span<float> d : destinations) bytes += d.size() * sizeof(float);
    if (request.encoding() == FLOAT32) segment = segments_.For(ClientSegments::kPull, bytes);
  }
  if (segment != nullptr) asked.set_segment(segment->id());
  PullAssembler answer(asked, destinations, &counted);
  RETURN_IF_ERROR(ReceiveChunks(
      generic_stub_.get(), kPullMethod, deadline, SerializeToByteBuffer(asked),
      [&](const ChunkHeader& header, const ChunkView& view) -> absl::Status {
        if (header.segment() == 0) {
          return answer.Add(header, view.payload_bytes(), [&view](float* destination) {
            view.CopyFloats(0, view.elements(), destination);
          });
        }
        return answer.AddFromSegment(header, view.payload_bytes(),
                                     segment != nullptr ? segment->id() : 0,
                                     segment != nullptr ? segment->data() : nullptr,
                                     segment != nullptr ? segment->size() : 0, *in_place);
      }));
  return answer.Finish();
}

absl::StatusOr<PushResponse> PsClient::Push(const ChunkHeader& fields,
                                            absl::Span<const std::string> blocks,
                                            absl::Span<const absl::Span<const float>> values,
                                            absl::Span<const std::string> slots,
                                            const AwaitBlock& await_block) {
  if (blocks.size() != values.size() || (!slots.empty() && slots.size() != blocks.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Push to ps ", options_.ps_task, " at ", address_, ": ", blocks.size(),
        " block names for ", values.size(), " values and ", slots.size(), " slot names"));
  }
  return Retry<PushResponse>("Push", absl::ZeroDuration(), [&](Deadline deadline) {
    bool in_place = false;
    absl::StatusOr<PushResponse> result =
        PushOnce(fields, blocks, values, slots, await_block, deadline, &in_place);
    if (GetErrorKind(result.status()) == ErrorKind::kUnknownSegment) {  // the ps restarted
      segments_.Drop(ClientSegments::kPush);
      result = PushOnce(fields, blocks, values, slots, await_block, deadline, &in_place);
    }
    // The ps may still read a push this side abandoned or gave up on.
    segments_.AfterCall(ClientSegments::kPush, result.status(), in_place);
    return result;
  });
}

absl::StatusOr<PushResponse> PsClient::PushOnce(const ChunkHeader& fields,
                                                absl::Span<const std::string> blocks,
                                                absl::Span<const absl::Span<const float>> values,
                                                absl::Span<const std::string> slots,
                                                const AwaitBlock& await_block, Deadline deadline,
                                                bool* in_place) {
  PayloadTracker tracker;  // outlives the call: waits until gRPC released `values`
  // A GRADIENT push's payloads go through shared memory when the ps takes it:
  // in place when they lie in the shared tensors, else copied into the
  // push's segment; the chunks carry only their place there.
  std::shared_ptr<SharedSegment> tensors;
  SharedSegment* segment = nullptr;
  *in_place = false;
  auto place_in_tensors = [&tensors](const float* data, size_t bytes) -> int64_t {
    return tensors != nullptr ? tensors->memory().OffsetOf(data, bytes) : -1;
  };
  if (fields.kind() == GRADIENT && fields.encoding() == FLOAT32) {
    tensors = segments_.Tensors(ClientSegments::kPush);
    size_t bytes = 0;
    for (absl::Span<const float> v : values) {
      const size_t v_bytes = v.size() * sizeof(float);
      if (place_in_tensors(v.data(), v_bytes) < 0) bytes += v_bytes;
    }
    segment = segments_.For(ClientSegments::kPush, bytes);
  }
  size_t segment_offset = 0;
  grpc::Status status;
  grpc::ByteBuffer reply;
  bool replied = false;
  bool abandoned = false;
  size_t blocks_sent = 0;
  {
    StreamCall call(generic_stub_.get(), kPushMethod, deadline);
    bool ok = call.started();
    ChunkHeader header = fields;
    if (blocks.empty() && ok) {
      header.clear_block();
      ok = call.Write(EncodeChunk(header, nullptr, 0, nullptr));
    }
    const int64_t chunk = std::max<int64_t>(1, options_.chunk_elements);
    for (size_t i = 0; i < blocks.size() && ok; ++i) {
      if (await_block && !await_block(i)) {
        abandoned = true;
        blocks_sent = i;
        call.Cancel();
        break;
      }
      const int64_t elements = static_cast<int64_t>(values[i].size());
      header.set_block(blocks[i]);
      if (!slots.empty()) header.set_slot(slots[i]);
      header.set_block_elements(elements);
      // A block in the shared tensors goes in the largest chunks a ps takes:
      // only headers travel, and the ps applies each in parts on its threads.
      const int64_t block_chunk =
          place_in_tensors(values[i].data(), values[i].size() * sizeof(float)) >= 0
              ? std::max(chunk, kMaxChunkElements)
              : chunk;
      for (int64_t offset = 0; offset < elements && ok; offset += block_chunk) {
        const int64_t n = std::min(block_chunk, elements - offset);
        header.set_offset(offset);
        const size_t n_bytes = static_cast<size_t>(n) * sizeof(float);
        const int64_t place = place_in_tensors(values[i].data() + offset, n_bytes);
        if (place >= 0) {
          header.set_segment(tensors->id());
          header.set_segment_offset(place);
          header.set_segment_bytes(static_cast<int64_t>(n_bytes));
          *in_place = true;
          ok = call.Write(EncodeChunk(header, nullptr, 0, nullptr));
        } else if (segment != nullptr) {
          std::memcpy(segment->data() + segment_offset, values[i].data() + offset, n_bytes);
          header.set_segment(segment->id());
          header.set_segment_offset(static_cast<int64_t>(segment_offset));
          header.set_segment_bytes(static_cast<int64_t>(n_bytes));
          segment_offset += n_bytes;
          ok = call.Write(EncodeChunk(header, nullptr, 0, nullptr));
        } else if (header.encoding() == BFLOAT16) {  // converted into a buffer of gRPC's
          ok = call.Write(EncodeBfloat16Chunk(header, values[i].subspan(offset, n)));
        } else {
          header.clear_segment();  // after chunks of this push in the shared tensors
          header.clear_segment_offset();
          header.clear_segment_bytes();
          ok = call.Write(EncodeChunk(header, values[i].data() + offset, n_bytes, &tracker));
        }
      }
    }
    if (ok && !abandoned) ok = call.WritesDone();
    if (ok && !abandoned) replied = call.Read(&reply);
    status = call.Finish();
  }
  tracker.WaitForRelease();
  if (abandoned) {
    return AbandonedPush(blocks_sent, blocks.size());
  }
  RETURN_IF_ERROR(FromGrpcStatus(status));
  PushResponse response;
  if (!replied) return absl::InternalError("Push: the ps sent no response");
  RETURN_IF_ERROR(ParseFromByteBuffer(reply, &response, "PushResponse"));
  return response;
}

absl::StatusOr<PsClient::SnapshotResult> PsClient::Snapshot(const SnapshotRequest& request,
                                                           const SnapshotSink& sink) {
  return Retry<SnapshotResult>("Snapshot", absl::ZeroDuration(), [&](Deadline deadline) {
    return SnapshotOnce(request, sink, deadline);
  });
}

absl::StatusOr<PsClient::SnapshotResult> PsClient::SnapshotOnce(const SnapshotRequest& request,
                                                               const SnapshotSink& sink,
                                                               Deadline deadline) {
  SnapshotAssembler answer(sink);
  RETURN_IF_ERROR(
      ReceiveChunks(generic_stub_.get(), kSnapshotMethod, deadline, SerializeToByteBuffer(request),
                    [&](const ChunkHeader& header, const ChunkView& view) {
                      return answer.Add(header, view.payload_bytes(), [&view](float* destination) {
                        view.CopyFloats(0, view.elements(), destination);
                      });
                    }));
  return answer.Finish();
}

absl::StatusOr<std::vector<std::unique_ptr<PsConnection>>> ConnectToAllPs(
    const ClusterSpec& cluster, const PsClientOptions& options) {
  std::vector<std::unique_ptr<PsConnection>> connections;
  for (int ps = 0; ps < cluster.num_ps(); ++ps) {
    ASSIGN_OR_RETURN(std::string address, cluster.TaskAddress({kPsJob, ps}));
    PsClientOptions client_options = options;
    client_options.ps_task = ps;
    if (!options.local_socket_dir.empty() && IsLocalHost(address.substr(0, address.rfind(':')))) {
      client_options.local_socket = LocalSocketPathFor(options.local_socket_dir, ps, address);
      if (!client_options.local_socket.empty()) {
        LOG(INFO) << "ps " << ps << " at " << address << " is on this host: calling it through "
                  << client_options.local_socket;
      }
    }
    ASSIGN_OR_RETURN(std::unique_ptr<PsConnection> client, NewPsClient(address, client_options));
    connections.push_back(std::move(client));
  }
  return connections;
}

}  // namespace tessera
