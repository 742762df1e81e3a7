#include "worker/ps_group.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "worker/worker_status.h"

namespace tessera {
namespace {

// Runs fn(ps) for every ps in parallel (one thread each) and returns the
// first error by ps order.
template <typename Fn>
absl::Status ForEachPs(int num_ps, Fn fn) {
  std::vector<absl::Status> results(num_ps);
  std::vector<std::thread> threads;
  for (int ps = 1; ps < num_ps; ++ps) {
    threads.emplace_back([&, ps] { results[ps] = fn(ps); });
  }
  results[0] = fn(0);
  for (std::thread& t : threads) t.join();
  for (const absl::Status& s : results) RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

bool IsNotInitialized(const absl::Status& s) {
  return s.code() == absl::StatusCode::kFailedPrecondition &&
         s.message().find("not initialized") != absl::string_view::npos;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PsGroup>> PsGroup::Create(const ClusterSpec& cluster,
                                                         const std::vector<VariableInfo>& variables,
                                                         const PlacementPlan& plan,
                                                         const PsGroupOptions& options) {
  if (plan.num_ps != cluster.num_ps()) {
    return absl::InvalidArgumentError(absl::StrCat("placement plan is for ", plan.num_ps,
                                                   " ps, the cluster has ", cluster.num_ps()));
  }
  std::vector<std::unique_ptr<PsClient>> clients;
  for (int ps = 0; ps < cluster.num_ps(); ++ps) {
    ASSIGN_OR_RETURN(std::string address, cluster.TaskAddress({kPsJob, ps}));
    PsClientOptions client_options;
    client_options.ps_task = ps;
    client_options.rpc_timeout = options.rpc_timeout;
    client_options.unavailable_timeout = options.unavailable_timeout;
    ASSIGN_OR_RETURN(std::unique_ptr<PsClient> client, PsClient::Create(address, client_options));
    clients.push_back(std::move(client));
  }
  return std::unique_ptr<PsGroup>(new PsGroup(variables, plan, options, std::move(clients)));
}

PsGroup::PsGroup(std::vector<VariableInfo> variables, PlacementPlan plan, PsGroupOptions options,
                 std::vector<std::unique_ptr<PsClient>> clients)
    : variables_(std::move(variables)),
      plan_(std::move(plan)),
      options_(options),
      clients_(std::move(clients)),
      blocks_by_ps_(clients_.size()) {
  for (const PlacedBlock& b : plan_.blocks) {
    int v = 0;
    while (variables_[v].name != b.variable) ++v;
    const int64_t row_elements =
        variables_[v].shape.empty() || variables_[v].shape[0] == 0
            ? 0
            : NumElements(variables_[v].shape) / variables_[v].shape[0];
    blocks_by_ps_[b.ps_task].push_back(
        BlockRef{v, b.row_offset * row_elements, NumElements(b.shape), b.name});
  }
}

PsGroup::~PsGroup() = default;

absl::StatusOr<int> PsGroup::CreateAndInitialize(const TrainConfig& config,
                                                 const std::vector<Tensor>& initial) {
  if (initial.size() != variables_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("initial values for ", initial.size(),
                                                   " variables, the model has ",
                                                   variables_.size()));
  }
  std::vector<int> initialized(num_ps(), 0);
  RETURN_IF_ERROR(ForEachPs(num_ps(), [&](int ps) -> absl::Status {
    CreateVariablesRequest request;
    request.set_fingerprint(plan_.fingerprint);
    for (int i : plan_.BlocksOn(ps)) {
      const PlacedBlock& b = plan_.blocks[i];
      BlockSpec* spec = request.add_blocks();
      spec->set_name(b.name);
      spec->set_variable(b.variable);
      for (int64_t d : b.shape) spec->mutable_shape()->add_dim(d);
      spec->set_row_offset(b.row_offset);
    }
    *request.mutable_optimizer() = config.optimizer();
    request.set_update_mode(config.update_mode());
    request.set_num_workers(options_.num_workers);
    request.set_holds_global_step(ps == 0);
    ASSIGN_OR_RETURN(CreateVariablesResponse created, clients_[ps]->CreateVariables(request));
    if (created.initialized()) return absl::OkStatus();
    ChunkHeader fields;
    fields.set_kind(ASSIGN);
    fields.set_fingerprint(plan_.fingerprint);
    fields.set_worker_task(options_.worker_task);
    std::vector<std::string> names;
    std::vector<absl::Span<const float>> values;
    for (const BlockRef& b : blocks_by_ps_[ps]) {
      names.push_back(b.name);
      values.push_back(initial[b.variable].span().subspan(b.offset, b.elements));
    }
    RETURN_IF_ERROR(clients_[ps]->Push(fields, names, values).status());
    initialized[ps] = 1;
    return absl::OkStatus();
  }));
  int count = 0;
  for (int i : initialized) count += i;
  return count;
}

absl::Status PsGroup::WaitUntilInitialized(absl::Time deadline) {
  std::vector<Tensor> scratch;
  for (const VariableInfo& v : variables_) scratch.emplace_back(v.shape);
  absl::Time next_log = absl::Now();
  while (true) {
    absl::Status s = PullAll(&scratch).status();
    if (s.ok()) break;
    if (!IsNotInitialized(s)) return s;
    const std::string what =
        "the chief (worker 0) to create and initialize the variables on every ps";
    if (options_.status != nullptr) options_.status->SetWaitingFor(what);
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("gave up waiting for ", what, ": ",
                                                      s.message()));
    }
    if (absl::Now() >= next_log) {
      LOG(INFO) << "waiting for " << what << " (" << s.message() << ")";
      next_log = absl::Now() + absl::Seconds(5);
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
  if (options_.status != nullptr) options_.status->SetWaitingFor("");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PsGroup::PullAll(std::vector<Tensor>* values) {
  std::vector<int64_t> steps(num_ps(), -1);
  RETURN_IF_ERROR(ForEachPs(num_ps(), [&](int ps) -> absl::Status {
    PullRequest request;
    request.set_fingerprint(plan_.fingerprint);
    request.set_worker_task(options_.worker_task);
    std::vector<absl::Span<float>> destinations;
    for (const BlockRef& b : blocks_by_ps_[ps]) {
      request.add_blocks(b.name);
      destinations.push_back((*values)[b.variable].span().subspan(b.offset, b.elements));
    }
    if (request.blocks().empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(PsClient::PullResult result, clients_[ps]->Pull(request, destinations));
    steps[ps] = result.global_step;
    return absl::OkStatus();
  }));
  return steps[0];
}

absl::StatusOr<int64_t> PsGroup::PushAll(const std::vector<Tensor>& grads, int64_t step) {
  int64_t global_step = -1;
  RETURN_IF_ERROR(ForEachPs(num_ps(), [&](int ps) -> absl::Status {
    ChunkHeader fields;
    fields.set_kind(GRADIENT);
    fields.set_fingerprint(plan_.fingerprint);
    fields.set_worker_task(options_.worker_task);
    fields.set_step(step);
    fields.set_increment_global_step(ps == 0);
    std::vector<std::string> names;
    std::vector<absl::Span<const float>> values;
    for (const BlockRef& b : blocks_by_ps_[ps]) {
      names.push_back(b.name);
      values.push_back(grads[b.variable].span().subspan(b.offset, b.elements));
    }
    if (names.empty() && ps != 0) return absl::OkStatus();
    ASSIGN_OR_RETURN(PushResponse response, clients_[ps]->Push(fields, names, values));
    if (ps == 0) global_step = response.global_step();
    return absl::OkStatus();
  }));
  return global_step;
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
