#include "worker/ps_group.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/error_kind.h"
#include "common/logging.h"
#include "common/parallel_runner.h"
#include "common/status_macros.h"
#include "worker/worker_status.h"

namespace tessera {
namespace {

// Runs fn(i) for every i in [0, n) in parallel on `runner`'s threads and
// returns the first error by index.
template <typename Fn>
absl::Status ForEachPs(ParallelRunner* runner, int n, Fn fn) {
  if (n == 0) return absl::OkStatus();
  std::vector<absl::Status> results(n);
  runner->Run(n, [&](int i) { results[i] = fn(i); });
  for (const absl::Status& s : results) RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

}  // namespace

bool IsNotInitializedError(const absl::Status& s) {
  return s.code() == absl::StatusCode::kFailedPrecondition &&
         GetErrorKind(s) == ErrorKind::kNotInitialized;
}

absl::StatusOr<std::unique_ptr<PsGroup>> PsGroup::Create(
    const std::vector<VariableInfo>& variables, const PlacementPlan& plan,
    const PsGroupOptions& options, std::vector<std::unique_ptr<PsConnection>> connections) {
  if (plan.num_ps != static_cast<int>(connections.size())) {
    return absl::InvalidArgumentError(absl::StrCat("placement plan is for ", plan.num_ps,
                                                   " ps, there are connections to ",
                                                   connections.size()));
  }
  ASSIGN_OR_RETURN(std::vector<std::vector<BlockRef>> blocks_by_ps, LocateBlocks(variables, plan));
  return std::unique_ptr<PsGroup>(
      new PsGroup(variables, plan, options, std::move(connections), std::move(blocks_by_ps)));
}

absl::StatusOr<std::vector<std::vector<PsGroup::BlockRef>>> PsGroup::LocateBlocks(
    const std::vector<VariableInfo>& variables, const PlacementPlan& plan) {
  absl::flat_hash_map<std::string, int> index;
  for (int v = 0; v < static_cast<int>(variables.size()); ++v) index[variables[v].name] = v;
  std::vector<std::vector<BlockRef>> blocks_by_ps(plan.num_ps);
  for (const PlacedBlock& b : plan.blocks) {
    auto it = index.find(b.variable);
    if (it == index.end()) {
      return absl::InvalidArgumentError(absl::StrCat("placement plan block '", b.name,
                                                     "' is of unknown variable '", b.variable,
                                                     "'"));
    }
    const Shape& shape = variables[it->second].shape;
    const int64_t row_elements =
        shape.empty() || shape[0] == 0 ? 0 : NumElements(shape) / shape[0];
    blocks_by_ps[b.ps_task].push_back(
        BlockRef{it->second, b.row_offset * row_elements, NumElements(b.shape), b.name});
  }
  return blocks_by_ps;
}

PsGroup::PsGroup(std::vector<VariableInfo> variables, PlacementPlan plan, PsGroupOptions options,
                 std::vector<std::unique_ptr<PsConnection>> clients,
                 std::vector<std::vector<BlockRef>> blocks_by_ps)
    : variables_(std::move(variables)),
      plan_(std::move(plan)),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : RealClock::Get()),
      clients_(std::move(clients)),
      blocks_by_ps_(std::move(blocks_by_ps)),
      runner_(static_cast<int>(clients_.size())),
      incarnations_(clients_.size(), 0),
      pull_runner_(static_cast<int>(clients_.size())) {
  for (std::vector<BlockRef>& blocks : blocks_by_ps_) {
    std::sort(blocks.begin(), blocks.end(), [](const BlockRef& a, const BlockRef& b) {
      if (a.variable != b.variable) return a.variable < b.variable;
      return a.offset < b.offset;
    });
  }
  blocks_per_variable_.assign(variables_.size(), 0);
  for (const std::vector<BlockRef>& blocks : blocks_by_ps_) {
    for (const BlockRef& b : blocks) ++blocks_per_variable_[b.variable];
    std::vector<int> order(blocks.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::sort(order.begin(), order.end(), [&blocks](int a, int b) {
      if (blocks[a].variable != blocks[b].variable) return blocks[a].variable > blocks[b].variable;
      return blocks[a].offset < blocks[b].offset;
    });
    push_order_.push_back(std::move(order));
  }
}

PsGroup::~PsGroup() {
  {
    absl::MutexLock lock(&push_mu_);
    abandon_push_ = true;  // a push still waiting for gradients ends
    stop_push_thread_ = true;
  }
  if (push_thread_.joinable()) push_thread_.join();
  {
    absl::MutexLock lock(&pull_mu_);
    stop_pull_thread_ = true;
  }
  if (pull_thread_.joinable()) pull_thread_.join();
}

absl::StatusOr<int> PsGroup::CreateAndInitialize(const TrainConfig& config,
                                                 const std::vector<Tensor>& initial) {
  if (initial.size() != variables_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("initial values for ", initial.size(),
                                                   " variables, the model has ",
                                                   variables_.size()));
  }
  ASSIGN_OR_RETURN(std::vector<int> uninitialized, CreateVariables(config));
  RETURN_IF_ERROR(ForEachPs(&runner_, static_cast<int>(uninitialized.size()), [&](int i) {
    return AssignInitialValues(uninitialized[i], initial);
  }));
  return static_cast<int>(uninitialized.size());
}

absl::StatusOr<std::vector<int>> PsGroup::CreateVariables(const TrainConfig& config) {
  std::vector<int> uninitialized(num_ps(), 0);
  RETURN_IF_ERROR(ForEachPs(&runner_, num_ps(), [&](int ps) -> absl::Status {
    CreateVariablesRequest request;
    request.set_fingerprint(plan_.fingerprint);
    for (int i : plan_.BlocksOn(ps)) {
      const PlacedBlock& b = plan_.blocks[i];
      BlockSpec* spec = request.add_blocks();
      spec->set_name(b.name);
      spec->set_variable(b.variable);
      for (int64_t d : b.shape) spec->mutable_shape()->add_dim(d);
      spec->set_row_offset(b.row_offset);
      spec->set_kind(b.kind);
    }
    *request.mutable_optimizer() = config.optimizer();
    request.set_update_mode(config.update_mode());
    request.set_num_workers(options_.num_workers);
    request.set_holds_global_step(ps == 0);
    request.set_replicas_to_aggregate(config.replicas_to_aggregate());
    request.set_total_replicas(config.total_replicas());
    request.set_staleness(config.staleness());
    request.set_sync_timeout_secs(config.sync_timeout_secs());
    request.set_worker_timeout_secs(config.worker_timeout_secs());
    ASSIGN_OR_RETURN(CreateVariablesResponse created, clients_[ps]->CreateVariables(request));
    ObserveIncarnation(ps, created.incarnation());
    uninitialized[ps] = created.initialized() ? 0 : 1;
    return absl::OkStatus();
  }));
  std::vector<int> result;
  for (int ps = 0; ps < num_ps(); ++ps) {
    if (uninitialized[ps]) result.push_back(ps);
  }
  return result;
}

absl::Status PsGroup::AssignInitialValues(int ps, const std::vector<Tensor>& initial) {
  if (initial.size() != variables_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("initial values for ", initial.size(),
                                                   " variables, the model has ",
                                                   variables_.size()));
  }
  std::vector<std::string> names;
  std::vector<absl::Span<const float>> values;
  for (const BlockRef& b : blocks_by_ps_[ps]) {
    names.push_back(b.name);
    values.push_back(initial[b.variable].span().subspan(b.offset, b.elements));
  }
  return PushAssign(ps, 0, std::move(names), std::move(values), {});
}

absl::Status PsGroup::PushAssign(int ps, int64_t step, std::vector<std::string> names,
                                 std::vector<absl::Span<const float>> values,
                                 std::vector<std::string> slots) {
  ChunkHeader fields;
  fields.set_kind(ASSIGN);
  fields.set_fingerprint(plan_.fingerprint);
  fields.set_worker_task(options_.worker_task);
  fields.set_step(step);
  ASSIGN_OR_RETURN(PushResponse response, clients_[ps]->Push(fields, names, values, slots));
  ObserveIncarnation(ps, response.incarnation());
  return absl::OkStatus();
}

void PsGroup::ObserveIncarnation(int ps, uint64_t incarnation) {
  if (incarnation == 0 || incarnations_[ps] == incarnation) return;
  if (incarnations_[ps] != 0) {
    LOG(WARNING) << "ps " << ps << " restarted: incarnation " << std::hex << incarnations_[ps]
                 << " -> " << incarnation;
  }
  incarnations_[ps] = incarnation;
}

absl::Status PsGroup::CheckInitialized(std::vector<Tensor>* scratch) {
  if (scratch->empty()) {
    for (const VariableInfo& v : variables_) scratch->emplace_back(v.shape);
  }
  return PullAll(scratch).status();
}

absl::Status PsGroup::WaitUntilInitialized(absl::Time deadline, absl::string_view what_arg) {
  std::vector<Tensor> scratch;
  absl::Time next_log = clock_->Now();
  while (true) {
    absl::Status s = CheckInitialized(&scratch);
    if (s.ok()) break;
    if (!IsNotInitializedError(s)) return s;
    const std::string what =
        what_arg.empty()
            ? std::string("the chief (worker 0) to create and initialize the variables on every ps")
            : std::string(what_arg);
    if (options_.status != nullptr) options_.status->SetWaitingFor(what);
    if (options_.cancelled != nullptr && options_.cancelled->load()) {
      return absl::CancelledError(absl::StrCat("stopped while waiting for ", what));
    }
    if (clock_->Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("gave up waiting for ", what, ": ",
                                                      s.message()));
    }
    if (clock_->Now() >= next_log) {
      LOG(INFO) << "waiting for " << what << " (" << s.message() << ")";
      next_log = clock_->Now() + absl::Seconds(5);
    }
    clock_->SleepFor(absl::Milliseconds(250));
  }
  if (options_.status != nullptr) options_.status->SetWaitingFor("");
  return absl::OkStatus();
}

bool PsGroup::can_share_memory() const {
  for (const auto& client : clients_) {
    if (client->can_share_memory()) return true;
  }
  return false;
}

void PsGroup::ShareTensorMemory(const std::shared_ptr<SharedMemory>& memory) {
  for (const auto& client : clients_) client->ShareTensorMemory(memory);
}

absl::StatusOr<int64_t> PsGroup::PullAll(std::vector<Tensor>* values) {
  ASSIGN_OR_RETURN(Pulled pulled, PullAllAs(values, 0, FLOAT32, &runner_));
  return pulled.global_step;
}

absl::StatusOr<PsGroup::Pulled> PsGroup::PullAll(std::vector<Tensor>* values, int64_t min_version) {
  return PullAllAs(values, min_version, options_.transport_encoding, &runner_);
}

absl::Status PsGroup::MatchVariables(const char* call, const char* noun,
                                     const std::vector<Tensor>& tensors) const {
  if (tensors.size() != variables_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(call, ": ", tensors.size(), " ", noun, "s for ",
                                                   variables_.size(), " variables"));
  }
  for (size_t v = 0; v < variables_.size(); ++v) {
    if (tensors[v].shape() != variables_[v].shape) {
      return absl::InvalidArgumentError(
          absl::StrCat(call, ": the ", noun, " of '", variables_[v].name, "' has shape ",
                       ShapeString(tensors[v].shape()), ", the variable's is ",
                       ShapeString(variables_[v].shape)));
    }
  }
  return absl::OkStatus();
}

absl::Status PsGroup::StartPull(std::vector<Tensor>* values, int64_t min_version) {
  RETURN_IF_ERROR(MatchVariables("StartPull", "value tensor", *values));
  absl::MutexLock lock(&pull_mu_);
  if (pull_running_) return absl::FailedPreconditionError("StartPull: a pull is running");
  blocks_missing_ = blocks_per_variable_;
  wait_counted_.assign(variables_.size(), false);
  pull_waited_ = absl::ZeroDuration();
  pull_values_ = values;
  pull_min_version_ = min_version;
  pull_running_ = true;
  pull_ended_ = false;
  pull_arrivals_ = false;
  if (!pull_thread_.joinable()) pull_thread_ = std::thread([this] { PullLoop(); });
  return absl::OkStatus();
}

void PsGroup::PullLoop() {
  while (true) {
    std::vector<Tensor>* values;
    int64_t min_version;
    {
      absl::MutexLock lock(&pull_mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pull_mu_) {
        return stop_pull_thread_ || pull_values_ != nullptr;
      };
      pull_mu_.Await(absl::Condition(&work));
      if (pull_values_ == nullptr) return;  // stopping
      values = pull_values_;
      min_version = pull_min_version_;
    }
    absl::StatusOr<Pulled> result =
        PullAllAs(values, min_version, options_.transport_encoding, &pull_runner_,
                  [this](int ps, size_t block) { BlockArrived(ps, block); });
    absl::MutexLock lock(&pull_mu_);
    pull_result_ = std::move(result);
    pull_values_ = nullptr;
    pull_ended_ = true;
  }
}

void PsGroup::BlockArrived(int ps, size_t block) {
  bool first;
  {
    absl::MutexLock lock(&pull_mu_);
    --blocks_missing_[blocks_by_ps_[ps][block].variable];
    first = !pull_arrivals_;
    pull_arrivals_ = true;
    if (first && pull_min_version_ <= 0) first = false;
  }
  // The wait for the other workers (SYNC, STALE) is over.
  if (first && options_.status != nullptr) options_.status->SetWaitingFor("");
}

bool PsGroup::AwaitVariable(size_t variable) {
  absl::MutexLock lock(&pull_mu_);
  if (variable >= blocks_missing_.size()) return false;
  auto in = [this, variable]()
                ABSL_EXCLUSIVE_LOCKS_REQUIRED(pull_mu_) { return blocks_missing_[variable] == 0; };
  if (in()) return true;
  const absl::Time start = clock_->Now();
  auto in_or_ended = [this, variable]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pull_mu_) {
    return blocks_missing_[variable] == 0 || pull_ended_;
  };
  pull_mu_.Await(absl::Condition(&in_or_ended));
  if (!wait_counted_[variable]) {
    wait_counted_[variable] = true;
    pull_waited_ += clock_->Now() - start;
  }
  return in();
}

absl::StatusOr<PsGroup::Pulled> PsGroup::AwaitPull() {
  absl::MutexLock lock(&pull_mu_);
  // After FinishPull too (an overlapped push's thread may ask late).
  if (!pull_running_ && !pull_ended_) {
    return absl::FailedPreconditionError("AwaitPull without StartPull");
  }
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pull_mu_) { return pull_ended_; };
  pull_mu_.Await(absl::Condition(&ended));
  return pull_result_;
}

absl::StatusOr<PsGroup::Pulled> PsGroup::FinishPull() {
  absl::StatusOr<Pulled> result = AwaitPull();
  absl::MutexLock lock(&pull_mu_);
  pull_running_ = false;
  return result;
}

absl::Duration PsGroup::pull_waited() const {
  absl::MutexLock lock(&pull_mu_);
  return pull_waited_;
}

absl::StatusOr<PsGroup::PsPulled> PsGroup::PullPs(int ps, int64_t min_version,
                                                  TensorEncoding encoding,
                                                  absl::Span<const absl::Span<float>> destinations,
                                                  const PsConnection::BlockArrived& arrived) {
  PullRequest request;
  request.set_fingerprint(plan_.fingerprint);
  request.set_worker_task(options_.worker_task);
  request.set_min_version(min_version);
  request.set_encoding(encoding);
  for (const BlockRef& b : blocks_by_ps_[ps]) request.add_blocks(b.name);
  ASSIGN_OR_RETURN(PsConnection::PullResult result,
                   clients_[ps]->Pull(request, destinations, arrived));
  ObserveIncarnation(ps, result.incarnation);
  PsPulled pulled;
  pulled.global_step = result.global_step;
  for (int64_t v : result.versions) {
    if (pulled.min_version < 0 || v < pulled.min_version) pulled.min_version = v;
  }
  return pulled;
}

absl::StatusOr<PsGroup::Pulled> PsGroup::PullAllAs(
    std::vector<Tensor>* values, int64_t min_version, TensorEncoding encoding,
    ParallelRunner* runner, const std::function<void(int ps, size_t block)>& arrived) {
  std::vector<int64_t> steps(num_ps(), -1);
  std::vector<int64_t> versions(num_ps(), -1);
  RETURN_IF_ERROR(ForEachPs(runner, num_ps(), [&](int ps) -> absl::Status {
    if (blocks_by_ps_[ps].empty()) return absl::OkStatus();
    std::vector<absl::Span<float>> destinations;
    for (const BlockRef& b : blocks_by_ps_[ps]) {
      destinations.push_back((*values)[b.variable].span().subspan(b.offset, b.elements));
    }
    PsConnection::BlockArrived block_arrived;
    if (arrived) block_arrived = [&arrived, ps](size_t block) { arrived(ps, block); };
    ASSIGN_OR_RETURN(PsPulled pulled,
                     PullPs(ps, min_version, encoding, destinations, block_arrived));
    steps[ps] = pulled.global_step;
    versions[ps] = pulled.min_version;
    return absl::OkStatus();
  }));
  Pulled pulled;
  pulled.global_step = steps[0];
  pulled.min_version = steps[0];
  for (int64_t v : versions) {
    if (v >= 0 && (pulled.min_version < 0 || v < pulled.min_version)) pulled.min_version = v;
  }
  return pulled;
}

absl::StatusOr<int64_t> PsGroup::PushAll(const std::vector<Tensor>& grads, int64_t step) {
  return PushGradients(grads, step, /*overlapped=*/false);
}

absl::Status PsGroup::StartPush(const std::vector<Tensor>* grads, int64_t step) {
  return StartPush(grads, PushStep([step]() -> absl::StatusOr<int64_t> { return step; }));
}

absl::Status PsGroup::StartPush(const std::vector<Tensor>* grads, PushStep step) {
  RETURN_IF_ERROR(MatchVariables("StartPush", "gradient", *grads));
  absl::MutexLock lock(&push_mu_);
  if (push_running_) return absl::FailedPreconditionError("StartPush: a push is running");
  gradient_ready_.assign(variables_.size(), false);
  abandon_push_ = false;
  push_grads_ = grads;
  push_step_ = std::move(step);
  push_running_ = true;
  if (!push_thread_.joinable()) push_thread_ = std::thread([this] { PushLoop(); });
  return absl::OkStatus();
}

void PsGroup::GradientReady(size_t variable) {
  absl::MutexLock lock(&push_mu_);
  if (variable < gradient_ready_.size()) gradient_ready_[variable] = true;
}

absl::StatusOr<int64_t> PsGroup::FinishPush() {
  absl::MutexLock lock(&push_mu_);
  if (!push_running_) return absl::FailedPreconditionError("FinishPush without StartPush");
  gradient_ready_.assign(variables_.size(), true);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(push_mu_) { return push_grads_ == nullptr; };
  push_mu_.Await(absl::Condition(&done));
  push_running_ = false;
  return std::move(push_result_);
}

void PsGroup::AbandonPush() {
  {
    absl::MutexLock lock(&push_mu_);
    if (!push_running_) return;
    abandon_push_ = true;
  }
  // Its result is CANCELLED, or whatever error came first: the step failed
  // already, and the caller reports that.
  FinishPush().IgnoreError();
}

void PsGroup::PushLoop() {
  while (true) {
    const std::vector<Tensor>* grads;
    PushStep step;
    {
      absl::MutexLock lock(&push_mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(push_mu_) {
        return stop_push_thread_ || push_grads_ != nullptr;
      };
      push_mu_.Await(absl::Condition(&work));
      if (push_grads_ == nullptr) return;  // stopping
      grads = push_grads_;
      step = push_step_;
    }
    absl::StatusOr<int64_t> step_value = step();
    absl::StatusOr<int64_t> result = step_value.ok()
                                         ? PushGradients(*grads, *step_value, /*overlapped=*/true)
                                         : step_value.status();
    absl::MutexLock lock(&push_mu_);
    push_result_ = std::move(result);
    push_grads_ = nullptr;
  }
}

absl::StatusOr<int64_t> PsGroup::PushGradients(const std::vector<Tensor>& grads, int64_t step,
                                               bool overlapped) {
  int64_t global_step = -1;
  std::vector<int64_t> dropped(num_ps(), 0);
  last_chunks_dropped_ = 0;
  RETURN_IF_ERROR(ForEachPs(&runner_, num_ps(), [&](int ps) -> absl::Status {
    ChunkHeader fields;
    fields.set_kind(GRADIENT);
    fields.set_fingerprint(plan_.fingerprint);
    fields.set_worker_task(options_.worker_task);
    fields.set_step(step);
    fields.set_increment_global_step(ps == 0);
    fields.set_encoding(options_.transport_encoding);
    std::vector<std::string> names;
    std::vector<absl::Span<const float>> values;
    std::vector<size_t> variables;
    for (int i : push_order_[ps]) {
      const BlockRef& b = blocks_by_ps_[ps][i];
      names.push_back(b.name);
      values.push_back(grads[b.variable].span().subspan(b.offset, b.elements));
      variables.push_back(static_cast<size_t>(b.variable));
    }
    if (names.empty() && ps != 0) return absl::OkStatus();
    PsConnection::AwaitBlock await_block;
    if (overlapped) {
      await_block = [this, &variables](size_t i) {
        absl::MutexLock lock(&push_mu_);
        const size_t v = variables[i];
        auto ready = [this, v]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(push_mu_) {
          return abandon_push_ || gradient_ready_[v];
        };
        push_mu_.Await(absl::Condition(&ready));
        return !abandon_push_;
      };
    }
    ASSIGN_OR_RETURN(PushResponse response,
                     clients_[ps]->Push(fields, names, values, {}, await_block));
    ObserveIncarnation(ps, response.incarnation());
    if (ps == 0) global_step = response.global_step();
    dropped[ps] = response.chunks_dropped();
    return absl::OkStatus();
  }));
  for (int64_t d : dropped) last_chunks_dropped_ += d;
  return global_step;
}

absl::Status PsGroup::RestoreFromCheckpoint(int ps, const CheckpointContents& checkpoint,
                                            const std::vector<std::string>& slot_names,
                                            int64_t step) {
  const std::string source = CheckpointName(checkpoint.metadata.global_step);
  std::vector<std::string> names;
  std::vector<absl::Span<const float>> values;
  std::vector<std::string> slots;
  auto check = [&](const std::string& variable, const std::string& slot, const Tensor& t,
                   const Shape& shape) -> absl::Status {
    if (t.shape() == shape) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint ", source, ": variable '", variable, "'",
        slot.empty() ? "" : absl::StrCat(" slot '", slot, "'"), " has shape ",
        ShapeString(t.shape()), ", the model's is ", ShapeString(shape)));
  };
  for (const BlockRef& b : blocks_by_ps_[ps]) {
    const VariableInfo& v = variables_[b.variable];
    const CheckpointVariable* saved = checkpoint.Find(v.name);
    if (saved == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint ", source, " has no variable '", v.name, "'"));
    }
    if (saved->kind != v.kind) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint ", source, ": variable '", v.name, "' is ", VariableKind_Name(saved->kind),
          ", the model's is ", VariableKind_Name(v.kind)));
    }
    RETURN_IF_ERROR(check(v.name, "", saved->value, v.shape));
    names.push_back(b.name);
    values.push_back(saved->value.span().subspan(b.offset, b.elements));
    slots.push_back("");
    if (v.kind != TRAINABLE) continue;  // a moving average has no slots
    for (const std::string& slot : slot_names) {
      auto it = saved->slots.find(slot);
      if (it == saved->slots.end()) {
        return absl::InvalidArgumentError(absl::StrCat("checkpoint ", source, ": variable '",
                                                       v.name, "' has no slot '", slot, "'"));
      }
      RETURN_IF_ERROR(check(v.name, slot, it->second, v.shape));
      names.push_back(b.name);
      values.push_back(it->second.span().subspan(b.offset, b.elements));
      slots.push_back(slot);
    }
  }
  return PushAssign(ps, step >= 0 ? step : checkpoint.metadata.global_step, std::move(names),
                    std::move(values), std::move(slots));
}

absl::StatusOr<int64_t> PsGroup::PsStep(int ps) {
  if (blocks_by_ps_[ps].empty()) {
    return absl::NotFoundError(absl::StrCat("ps ", ps, " holds no block"));
  }
  std::vector<std::vector<float>> scratch;
  std::vector<absl::Span<float>> destinations;
  for (const BlockRef& b : blocks_by_ps_[ps]) {
    scratch.emplace_back(static_cast<size_t>(b.elements));
    destinations.push_back(absl::MakeSpan(scratch.back()));
  }
  ASSIGN_OR_RETURN(PsPulled pulled, PullPs(ps, 0, FLOAT32, destinations));
  int64_t step = pulled.min_version;
  if (pulled.global_step >= 0 && (step < 0 || pulled.global_step < step)) {
    step = pulled.global_step;
  }
  return step;
}

absl::StatusOr<CheckpointContents> PsGroup::Snapshot(const std::vector<std::string>& slot_names) {
  CheckpointContents contents;
  contents.metadata.global_step = -1;
  for (const VariableInfo& v : variables_) {
    CheckpointVariable variable{v.name, Tensor(v.shape), {}, v.kind};
    if (v.kind == TRAINABLE) {  // a moving average has no slots
      for (const std::string& slot : slot_names) variable.slots.emplace(slot, Tensor(v.shape));
    }
    contents.variables.push_back(std::move(variable));
  }
  std::vector<int64_t> tensors(num_ps(), 0);
  RETURN_IF_ERROR(ForEachPs(&runner_, num_ps(), [&](int ps) -> absl::Status {
    if (blocks_by_ps_[ps].empty()) return absl::OkStatus();
    absl::flat_hash_map<std::string, const BlockRef*> by_name;
    SnapshotRequest request;
    request.set_fingerprint(plan_.fingerprint);
    request.set_worker_task(options_.worker_task);
    for (const BlockRef& b : blocks_by_ps_[ps]) {
      by_name[b.name] = &b;
      request.add_blocks(b.name);
    }
    auto sink = [&](const std::string& block,
                    const std::string& slot) -> absl::StatusOr<absl::Span<float>> {
      auto it = by_name.find(block);
      if (it == by_name.end()) {
        return absl::InternalError(absl::StrCat("Snapshot of ps ", ps, ": unrequested block '",
                                                block, "'"));
      }
      CheckpointVariable& variable = contents.variables[it->second->variable];
      Tensor* tensor = &variable.value;
      if (!slot.empty()) {
        auto slot_it = variable.slots.find(slot);
        if (slot_it == variable.slots.end()) {
          return absl::InternalError(absl::StrCat("Snapshot of ps ", ps, ": block '", block,
                                                  "' has unexpected slot '", slot, "'"));
        }
        tensor = &slot_it->second;
      }
      return tensor->span().subspan(it->second->offset, it->second->elements);
    };
    ASSIGN_OR_RETURN(PsConnection::SnapshotResult result, clients_[ps]->Snapshot(request, sink));
    ObserveIncarnation(ps, result.incarnation);
    if (ps == 0) contents.metadata.global_step = result.global_step;
    tensors[ps] = result.tensors;
    int64_t expected = 0;
    for (const BlockRef& b : blocks_by_ps_[ps]) {
      expected += 1 + (variables_[b.variable].kind == TRAINABLE
                           ? static_cast<int64_t>(slot_names.size())
                           : 0);
    }
    if (result.tensors != expected) {
      return absl::InternalError(absl::StrCat(
          "Snapshot of ps ", ps, ": received ", result.tensors, " tensors, expected ", expected,
          " (each block's value, and the trainable blocks' slots)"));
    }
    return absl::OkStatus();
  }));
  if (contents.metadata.global_step < 0) {  // ps 0 always holds the largest block
    return absl::InternalError("Snapshot: ps 0 reported no global step");
  }
  return contents;
}

absl::StatusOr<int> PsGroup::WorkerDone(int64_t last_step) {
  WorkerDoneRequest request;
  request.set_worker_task(options_.worker_task);
  request.set_last_step(last_step);
  request.set_fingerprint(plan_.fingerprint);
  ASSIGN_OR_RETURN(WorkerDoneResponse response, clients_[0]->WorkerDone(request));
  return response.workers_done();
}

}  // namespace tessera
