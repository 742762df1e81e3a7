#ifndef TESSERA_TEST_IN_MEMORY_PS_H_
#define TESSERA_TEST_IN_MEMORY_PS_H_

// A parameter-server task in memory, for tests of the worker without a
// network: a real VariableStore (ps/variable_store.h) behind PsConnections
// (worker/ps_connection.h) that call it directly, with no gRPC and no socket.
//
//   FakeClock clock;
//   InMemoryPs ps0(0, &clock), ps1(1, &clock);
//   std::vector<std::unique_ptr<PsConnection>> connections = ConnectAll({&ps0, &ps1});
//   ... PsGroup::Create(variables, plan, options, std::move(connections)) ...
//   ps1.Restart();              // a fresh store: new incarnation, not initialized
//   ps1.SetUnavailable(true);   // every call: UNAVAILABLE, as a ps that is down
//
// Errors are the store's absl::Status unchanged (code, message, ErrorKind),
// prefixed by Annotate with "`Rpc` to ps N at in-memory:N", as PsClient
// prefixes them; UNAVAILABLE is returned at once, never retried. A Pull that
// must wait (SYNC, STALE) blocks the calling thread on the store's waiter.
//
// Thread-safe: connections may be used from several threads, and Restart and
// SetUnavailable may be called while calls run (a call in progress finishes
// on the store it started with). InMemoryPs must outlive its connections.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "ps/variable_store.h"
#include "worker/ps_connection.h"

namespace tessera {

class InMemoryPs {
 public:
  // Ps task `task` with a fresh store on `clock` (borrowed, must outlive
  // this; RealClock::Get() when null).
  InMemoryPs(int task, Clock* clock);
  InMemoryPs(const InMemoryPs&) = delete;
  InMemoryPs& operator=(const InMemoryPs&) = delete;
  ~InMemoryPs();

  int task() const { return task_; }
  // "in-memory:N"; the address its connections report.
  const std::string& address() const { return address_; }

  // A new connection to this ps; it borrows this object.
  std::unique_ptr<PsConnection> Connect();

  // Simulates a restart of the ps process: the store is replaced by a fresh
  // one (no variables, a new incarnation), so calls answer "not initialized".
  void Restart();
  // Restart() just before the n-th call from now (n >= 1) reaches the store:
  // a ps that restarts between two calls of the code under test.
  void RestartBeforeCall(int64_t n);
  // While true, every call fails with UNAVAILABLE (a ps that is down).
  void SetUnavailable(bool unavailable);
  // The next Pull that streams more than `blocks` blocks breaks after them
  // with UNAVAILABLE, as a connection that drops mid-answer (once).
  void BreakNextPullAfterBlocks(int blocks);

  // The current store (replaced by Restart), for inspection by tests.
  std::shared_ptr<VariableStore> store() const;
  // Incarnation of the current store; different after each Restart.
  uint64_t incarnation() const;
  // Calls that reached the current store (not the ones refused as UNAVAILABLE).
  int64_t calls() const;

 private:
  friend class InMemoryPsConnection;
  // The store to run a call on, or UNAVAILABLE naming `rpc` and this ps.
  absl::StatusOr<std::shared_ptr<VariableStore>> StoreFor(const char* rpc);
  std::shared_ptr<VariableStore> NewStore();

  const int task_;
  const std::string address_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<VariableStore> store_ ABSL_GUARDED_BY(mu_);
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool unavailable_ ABSL_GUARDED_BY(mu_) = false;
  int64_t calls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t restart_after_calls_ ABSL_GUARDED_BY(mu_) = 0;  // RestartBeforeCall's countdown
  int break_pull_after_ ABSL_GUARDED_BY(mu_) = -1;        // BreakNextPullAfterBlocks's; -1: none
  // Takes the pending BreakNextPullAfterBlocks for a pull of `blocks` (-1: none).
  int TakePullBreak(int blocks);
};

// One connection to each of `ps` (borrowed), in the given order (ps task order).
std::vector<std::unique_ptr<PsConnection>> ConnectAll(const std::vector<InMemoryPs*>& ps);

// A connection that hands every call to `inner`: tests derive from it to
// change one call (hold a pull back, say that it can share memory).
class ForwardingConnection : public PsConnection {
 public:
  explicit ForwardingConnection(std::unique_ptr<PsConnection> inner) : inner_(std::move(inner)) {}
  const std::string& address() const override { return inner_->address(); }
  absl::StatusOr<CreateVariablesResponse> CreateVariables(
      const CreateVariablesRequest& request) override {
    return inner_->CreateVariables(request);
  }
  absl::StatusOr<PullResult> Pull(const PullRequest& request,
                                  absl::Span<const absl::Span<float>> destinations,
                                  const BlockArrived& arrived = nullptr) override {
    return inner_->Pull(request, destinations, arrived);
  }
  absl::StatusOr<PushResponse> Push(const ChunkHeader& fields, absl::Span<const std::string> blocks,
                                    absl::Span<const absl::Span<const float>> values,
                                    absl::Span<const std::string> slots = {},
                                    const AwaitBlock& await_block = nullptr) override {
    return inner_->Push(fields, blocks, values, slots, await_block);
  }
  absl::StatusOr<SnapshotResult> Snapshot(const SnapshotRequest& request,
                                          const SnapshotSink& sink) override {
    return inner_->Snapshot(request, sink);
  }
  absl::StatusOr<WorkerDoneResponse> WorkerDone(const WorkerDoneRequest& request) override {
    return inner_->WorkerDone(request);
  }

 protected:
  PsConnection* inner() const { return inner_.get(); }

 private:
  std::unique_ptr<PsConnection> inner_;
};

}  // namespace tessera

#endif  // TESSERA_TEST_IN_MEMORY_PS_H_
