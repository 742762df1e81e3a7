#include "test/in_memory_ps.h"

#include <algorithm>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/bfloat16.h"
#include "common/rpc/chunk_sizes.h"
#include "common/status_macros.h"
#include "worker/answer_assembler.h"

namespace tessera {

// Calls the store of one InMemoryPs directly. Thread-compatible like every
// PsConnection; borrows the InMemoryPs.
class InMemoryPsConnection final : public PsConnection {
 public:
  explicit InMemoryPsConnection(InMemoryPs* ps) : ps_(ps) {}

  const std::string& address() const override { return ps_->address(); }

  absl::StatusOr<CreateVariablesResponse> CreateVariables(
      const CreateVariablesRequest& request) override {
    ASSIGN_OR_RETURN(std::shared_ptr<VariableStore> store, ps_->StoreFor("CreateVariables"));
    absl::StatusOr<CreateVariablesResponse> response = store->CreateVariables(request);
    if (!response.ok()) return Annotate(response.status(), Context("CreateVariables"));
    return response;
  }

  absl::StatusOr<WorkerDoneResponse> WorkerDone(const WorkerDoneRequest& request) override {
    ASSIGN_OR_RETURN(std::shared_ptr<VariableStore> store, ps_->StoreFor("WorkerDone"));
    absl::StatusOr<WorkerDoneResponse> response = store->WorkerDone(request);
    if (!response.ok()) return Annotate(response.status(), Context("WorkerDone"));
    return response;
  }

  absl::StatusOr<PullResult> Pull(const PullRequest& request,
                                  absl::Span<const absl::Span<float>> destinations,
                                  const BlockArrived& arrived = nullptr) override {
    if (request.blocks().empty() ||
        request.blocks_size() != static_cast<int>(destinations.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          Context("Pull"), ": ", request.blocks_size(), " blocks named for ",
          destinations.size(), " destinations (need one per block, >= 1)"));
    }
    ASSIGN_OR_RETURN(std::shared_ptr<VariableStore> store, ps_->StoreFor("Pull"));
    size_t arrivals = 0;
    BlockArrived counted;
    if (arrived) {
      counted = [&](size_t block) {
        ++arrivals;
        arrived(block);
      };
    }
    absl::StatusOr<PullResult> pulled = PullFrom(store.get(), request, destinations, counted);
    if (arrivals > 0 && absl::IsUnavailable(pulled.status())) {
      pulled = PullBrokeAfterArrivals(pulled.status(), arrivals, destinations.size());
    }
    if (!pulled.ok()) return Annotate(pulled.status(), Context("Pull"));
    return pulled;
  }

  absl::StatusOr<PushResponse> Push(const ChunkHeader& fields, absl::Span<const std::string> blocks,
                                    absl::Span<const absl::Span<const float>> values,
                                    absl::Span<const std::string> slots,
                                    const AwaitBlock& await_block) override {
    if (blocks.size() != values.size() || (!slots.empty() && slots.size() != blocks.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          Context("Push"), ": ", blocks.size(), " block names for ", values.size(),
          " values and ", slots.size(), " slot names"));
    }
    ASSIGN_OR_RETURN(std::shared_ptr<VariableStore> store, ps_->StoreFor("Push"));
    absl::StatusOr<PushResponse> response =
        PushTo(store.get(), fields, blocks, values, slots, await_block);
    if (!response.ok()) return Annotate(response.status(), Context("Push"));
    return response;
  }

  absl::StatusOr<SnapshotResult> Snapshot(const SnapshotRequest& request,
                                          const SnapshotSink& sink) override {
    ASSIGN_OR_RETURN(std::shared_ptr<VariableStore> store, ps_->StoreFor("Snapshot"));
    absl::StatusOr<SnapshotResult> result = SnapshotFrom(store.get(), request, sink);
    if (!result.ok()) return Annotate(result.status(), Context("Snapshot"));
    return result;
  }

 private:
  std::string Context(const char* rpc) const {
    return absl::StrCat(rpc, " to ps ", ps_->task(), " at ", ps_->address());
  }

  absl::StatusOr<PullResult> PullFrom(VariableStore* store, const PullRequest& request,
                                      absl::Span<const absl::Span<float>> destinations,
                                      const BlockArrived& arrived) {
    ASSIGN_OR_RETURN(std::unique_ptr<PullSession> session, store->StartPull(request));
    if (!store->PullReady(request, *session)) {
      absl::Notification ready;
      absl::Status waited;
      store->WaitForPull(request, session.get(), [&](absl::Status status) {
        waited = status;
        ready.Notify();
      });
      ready.WaitForNotification();
      RETURN_IF_ERROR(waited);
    }
    PullAssembler answer(request, destinations, &arrived);
    const int break_after = ps_->TakePullBreak(request.blocks_size());
    int started = 0;  // blocks begun
    RETURN_IF_ERROR(Drain(session.get(), [&](const ChunkHeader& header, const SharedFloats& chunk) {
      if (header.offset() == 0 && started++ == break_after) {
        return absl::UnavailableError("the connection dropped mid-answer (simulated)");
      }
      // As the wire would: BFLOAT16 rounds the values.
      const int element_bytes = ElementBytes(header.encoding());
      return answer.Add(header, chunk.size() * element_bytes, [&](float* destination) {
        std::copy(chunk.data(), chunk.data() + chunk.size(), destination);
        if (header.encoding() == BFLOAT16) {
          RoundToBfloat16(absl::MakeSpan(destination, chunk.size()));
        }
      });
    }));
    return answer.Finish();
  }

  // Hands every chunk of `session` to `add`, stopping at its first error.
  static absl::Status Drain(
      ChunkSource* session,
      absl::FunctionRef<absl::Status(const ChunkHeader&, const SharedFloats&)> add) {
    while (!session->Done()) {
      ChunkHeader header;
      const SharedFloats chunk = session->NextChunk(kStreamChunkElements, &header);
      RETURN_IF_ERROR(add(header, chunk));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<PushResponse> PushTo(VariableStore* store, const ChunkHeader& fields,
                                      absl::Span<const std::string> blocks,
                                      absl::Span<const absl::Span<const float>> values,
                                      absl::Span<const std::string> slots,
                                      const AwaitBlock& await_block) {
    std::unique_ptr<PushSession> session = store->StartPush();
    ChunkHeader header = fields;
    if (blocks.empty()) {
      header.clear_block();
      RETURN_IF_ERROR(session->AddChunk(header, {}));
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (await_block && !await_block(i)) {
        return AbandonedPush(i, blocks.size());
      }
      const int64_t elements = static_cast<int64_t>(values[i].size());
      header.set_block(blocks[i]);
      if (!slots.empty()) header.set_slot(slots[i]);
      header.set_block_elements(elements);
      for (int64_t offset = 0; offset < elements; offset += kStreamChunkElements) {
        header.set_offset(offset);
        absl::Span<const float> chunk =
            values[i].subspan(offset, std::min(kStreamChunkElements, elements - offset));
        std::vector<float> rounded;  // as the wire would: BFLOAT16 rounds the values
        if (header.encoding() == BFLOAT16) {
          rounded.assign(chunk.begin(), chunk.end());
          RoundToBfloat16(absl::MakeSpan(rounded));
          chunk = rounded;
        }
        RETURN_IF_ERROR(session->AddChunk(header, chunk));
      }
    }
    return session->Finish();
  }

  absl::StatusOr<SnapshotResult> SnapshotFrom(VariableStore* store,
                                              const SnapshotRequest& request,
                                              const SnapshotSink& sink) {
    ASSIGN_OR_RETURN(std::unique_ptr<SnapshotSession> session, store->StartSnapshot(request));
    SnapshotAssembler answer(sink);
    RETURN_IF_ERROR(Drain(session.get(), [&](const ChunkHeader& header, const SharedFloats& chunk) {
      return answer.Add(header, chunk.size() * 4, [&chunk](float* destination) {
        std::copy(chunk.data(), chunk.data() + chunk.size(), destination);
      });
    }));
    return answer.Finish();
  }

  InMemoryPs* const ps_;
};

InMemoryPs::InMemoryPs(int task, Clock* clock)
    : task_(task),
      address_(absl::StrCat("in-memory:", task)),
      clock_(clock != nullptr ? clock : RealClock::Get()) {
  absl::MutexLock lock(&mu_);
  store_ = NewStore();
}

InMemoryPs::~InMemoryPs() = default;

std::shared_ptr<VariableStore> InMemoryPs::NewStore() {
  ++generation_;
  VariableStoreOptions options;
  options.clock = clock_;
  // Distinct per task and per restart, and never 0 (0 means "no answer yet").
  options.incarnation = static_cast<uint64_t>(task_ + 1) * 1000 + generation_;
  return std::make_shared<VariableStore>(options);
}

std::unique_ptr<PsConnection> InMemoryPs::Connect() {
  return std::make_unique<InMemoryPsConnection>(this);
}

void InMemoryPs::Restart() {
  absl::MutexLock lock(&mu_);
  store_ = NewStore();
}

void InMemoryPs::SetUnavailable(bool unavailable) {
  absl::MutexLock lock(&mu_);
  unavailable_ = unavailable;
}

std::shared_ptr<VariableStore> InMemoryPs::store() const {
  absl::MutexLock lock(&mu_);
  return store_;
}

uint64_t InMemoryPs::incarnation() const { return store()->incarnation(); }

int64_t InMemoryPs::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

absl::StatusOr<std::shared_ptr<VariableStore>> InMemoryPs::StoreFor(const char* rpc) {
  absl::MutexLock lock(&mu_);
  if (unavailable_) {
    return absl::UnavailableError(
        absl::StrCat(rpc, " to ps ", task_, " at ", address_, ": ps is down (simulated)"));
  }
  if (restart_after_calls_ > 0 && --restart_after_calls_ == 0) store_ = NewStore();
  ++calls_;
  return store_;
}

void InMemoryPs::BreakNextPullAfterBlocks(int blocks) {
  absl::MutexLock lock(&mu_);
  break_pull_after_ = blocks;
}

int InMemoryPs::TakePullBreak(int blocks) {
  absl::MutexLock lock(&mu_);
  if (break_pull_after_ < 0 || break_pull_after_ >= blocks) return -1;
  const int after = break_pull_after_;
  break_pull_after_ = -1;
  return after;
}

void InMemoryPs::RestartBeforeCall(int64_t n) {
  absl::MutexLock lock(&mu_);
  restart_after_calls_ = n;
}

std::vector<std::unique_ptr<PsConnection>> ConnectAll(const std::vector<InMemoryPs*>& ps) {
  std::vector<std::unique_ptr<PsConnection>> connections;
  for (InMemoryPs* p : ps) connections.push_back(p->Connect());
  return connections;
}

}  // namespace tessera
