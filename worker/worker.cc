#include "worker/worker.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/admin/admin_client.h"
#include "common/admin/cluster_admin.h"
#include "common/clock.h"
#include "common/cpu_time.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "data/input.h"
#include "data/load_dataset.h"
#include "worker/evaluation.h"
#include "worker/hooks/checkpoint_hook.h"
#include "worker/hooks/evaluation_hook.h"
#include "worker/hooks/memory_hook.h"
#include "worker/hooks/summary_hook.h"
#include "worker/model_fingerprint.h"
#include "worker/ps_client.h"
#include "worker/tensor_memory.h"
#include "worker/train_config.h"

namespace tessera {

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(const ClusterSpec& cluster,
                                                       const TrainConfig& config,
                                                       const WorkerOptions& options,
                                                       WorkerStatus* status) {
  WorkerParts parts;  // clock and data loader: CreateFromParts's defaults
  parts.connect_ps = [&cluster, &config, &options, status](const std::atomic<bool>* cancelled) {
    PsClientOptions client;
    client.security = options.security;
    client.local_socket_dir = options.local_socket_dir;
    client.shared_memory = options.shared_memory;
    client.worker_task = options.task;
    client.rpc_timeout = absl::Seconds(config.rpc_timeout_secs());
    client.unavailable_timeout = absl::Seconds(config.startup_timeout_secs());
    // The ps ends a waiting Pull after sync_timeout_secs; its error must arrive first.
    client.pull_wait = absl::Seconds(config.sync_timeout_secs()) + absl::Seconds(10);
    client.cancelled = cancelled;
    if (status != nullptr) {
      client.on_waiting = [status](const std::string& what) { status->SetWaitingFor(what); };
    }
    return ConnectToAllPs(cluster, client);
  };
  parts.admin = NewGrpcClusterAdmin(options.security);
  return CreateFromParts(cluster, config, options, status, std::move(parts));
}

absl::StatusOr<std::unique_ptr<Worker>> Worker::CreateFromParts(const ClusterSpec& cluster,
                                                                const TrainConfig& config,
                                                                const WorkerOptions& options,
                                                                WorkerStatus* status,
                                                                WorkerParts parts) {
  RETURN_IF_ERROR(cluster.ValidateTask({kWorkerJob, options.task}));
  if (!parts.connect_ps) return absl::InvalidArgumentError("WorkerParts: no connect_ps");
  if (options.task == 0 && parts.admin == nullptr) {
    return absl::InvalidArgumentError("WorkerParts: the chief needs a ClusterAdmin");
  }
  Clock* const clock = parts.clock != nullptr ? parts.clock : RealClock::Get();
  std::unique_ptr<Worker> w(
      new Worker(cluster, config, options, status, clock, std::move(parts.admin)));
  ASSIGN_OR_RETURN(w->model_, Model::FromModelDef(config.model()));
  w->model_->SetComputeThreads(config.compute_threads(), config.compute_split());
  for (const VariableSpec& v : w->model_->variables()) w->variables_.push_back({v.name, v.shape, v.kind});
  InputOptions input;
  input.input_shape = Shape(config.model().input_shape().begin(), config.model().input_shape().end());
  input.batch_size = config.batch_size();
  input.num_parts = cluster.num_workers();
  input.part = options.task;
  input.seed = config.seed();
  input.with_test = w->is_chief() && config.eval_at_end();
  input.clock = clock;
  ASSIGN_OR_RETURN(w->input_, InputData::Open(config.data(), input, std::move(parts.load_data)));
  ASSIGN_OR_RETURN(PlacementPlan plan,
                   PlaceVariables(w->variables_, cluster.num_ps(), config.partition_bytes()));
  PsGroupOptions ps_options;
  ps_options.worker_task = options.task;
  ps_options.num_workers = cluster.num_workers();
  ps_options.status = status;
  ps_options.clock = clock;
  ps_options.cancelled = &w->stop_requested_;
  ps_options.transport_encoding = config.transport_encoding();
  RETURN_IF_ERROR(ValidateUpdateMode(config, cluster.num_workers()));
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<PsConnection>> connections,
                   parts.connect_ps(&w->stop_requested_));
  ASSIGN_OR_RETURN(w->ps_,
                   PsGroup::Create(w->variables_, plan, ps_options, std::move(connections)));
  w->tensor_memory_ = w->MakeTensors(&w->values_, &w->grads_);  // StartPush needs them in place
  if (w->tensor_memory_ != nullptr) w->ps_->ShareTensorMemory(w->tensor_memory_);
  PsRecoveryOptions recovery;
  recovery.is_chief = w->is_chief();
  ASSIGN_OR_RETURN(recovery.model_fingerprint, ModelFingerprint(w->variables_, config.optimizer()));
  ASSIGN_OR_RETURN(recovery.slot_names, OptimizerSlotNames(config.optimizer()));
  recovery.wait_timeout = absl::Seconds(config.startup_timeout_secs());
  w->recovery_ = std::make_unique<PsRecovery>(w->ps_.get(), &w->config_, status, recovery);
  if (w->is_chief() && !config.checkpoint_dir().empty()) {
    w->AddHook(std::make_unique<CheckpointHook>(
        CheckpointHookOptions{recovery.model_fingerprint, recovery.slot_names,
                              options.checkpoint_write_delay, clock, parts.file_system}));
  }
  // Summaries after evaluation, so that its results at the end are written
  // before the summary hook's End flushes; both hooks live as long as `w`.
  std::unique_ptr<SummaryHook> summaries;
  if (!config.summary_dir().empty()) {
    ASSIGN_OR_RETURN(summaries,
                     SummaryHook::Create(config, options.task, clock, parts.file_system));
  }
  if (w->is_chief()) {
    EvaluationHook::ResultCallback on_result;
    if (summaries != nullptr) {
      on_result = [s = summaries.get()](int64_t step, const EvalMetrics& m) {
        s->AddEvalResult(step, m);
      };
    }
    w->AddHook(std::make_unique<EvaluationHook>(std::move(on_result)));
  }
  if (summaries != nullptr) w->AddHook(std::move(summaries));
  w->AddHook(std::make_unique<MemoryHook>(clock, absl::Minutes(1)));
  return w;
}

Worker::Worker(const ClusterSpec& cluster, const TrainConfig& config,
               const WorkerOptions& options, WorkerStatus* status, Clock* clock,
               std::unique_ptr<ClusterAdmin> admin)
    : cluster_(cluster),
      config_(config),
      options_(options),
      status_(status),
      clock_(clock),
      admin_(std::move(admin)) {}

absl::Status Worker::Run() {
  LOG(INFO) << "model " << config_.model().name() << ": " << variables_.size() << " variables in "
            << ps_->plan().blocks.size() << " blocks on " << ps_->num_ps() << " ps (placement "
            << ps_->plan().fingerprint << "); " << input_->Describe() << "; training traffic "
            << (config_.transport_encoding() == BFLOAT16 ? "bfloat16" : "float32");
  const absl::Status initialized = Initialize();
  if (!initialized.ok() && stop_requested_) {
    // Asked to stop (Admin Shutdown, SIGTERM) before training began.
    LOG(INFO) << "stopping on request before training: " << initialized.message();
    status_->SetState("done");
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(initialized);
  const HookContext context = MakeHookContext();
  for (auto& hook : hooks_) RETURN_IF_ERROR(hook->Begin(context));
  status_->SetState("training");
  RETURN_IF_ERROR(TrainLoop());
  EndInfo end;
  end.stopped_early = stop_requested_;
  if (!stop_requested_) {
    status_->SetState("done");
    ASSIGN_OR_RETURN(int done, ps_->WorkerDone(global_step_));
    LOG(INFO) << "done at global step " << global_step_ << " (" << done << " of "
              << cluster_.num_workers() << " workers done)";
    if (is_chief()) {
      WaitForWorkers();
      ASSIGN_OR_RETURN(global_step_, ps_->PullAll(&values_));
      LOG(INFO) << "final global step " << global_step_ << ", last training loss "
                << last_loss_;
    }
  }
  end.global_step = global_step_;
  end.values = &values_;
  absl::Status job_error;
  {
    absl::MutexLock lock(&job_error_mu_);
    job_error = job_error_;
  }
  if (job_error.ok()) {
    for (auto& hook : hooks_) RETURN_IF_ERROR(hook->End(end));
    if (is_chief() && !stop_requested_) ShutDownPs();
    return absl::OkStatus();
  }
  // A hook stopped the job: every hook still ends (the chief's final
  // checkpoint is tried), then the whole cluster is shut down.
  for (auto& hook : hooks_) {
    const absl::Status ended = hook->End(end);
    if (!ended.ok()) LOG(ERROR) << "while stopping the job: " << ended.message();
  }
  status_->SetState("error");
  status_->SetError(job_error.message());
  ShutDownOthers(absl::StrCat("worker ", options_.task, " stopped the job: ", job_error.message()));
  return job_error;
}

void Worker::StopJob(const absl::Status& error) {
  {
    absl::MutexLock lock(&job_error_mu_);
    if (!job_error_.ok()) return;
    job_error_ = error;
  }
  stop_requested_ = true;
}

HookContext Worker::MakeHookContext() {
  HookContext c;
  c.config = &config_;
  c.cluster = &cluster_;
  c.task = options_.task;
  c.is_chief = is_chief();
  c.variables = &variables_;
  c.model = model_.get();
  c.ps = ps_.get();
  c.status = status_;
  c.stop_job = [this](const absl::Status& error) { StopJob(error); };
  if (input_->has_test()) c.open_test = [this] { return input_->Test(); };
  return c;
}

absl::Status Worker::Initialize() {
  const absl::Time deadline = clock_->Now() + absl::Seconds(config_.startup_timeout_secs());
  if (is_chief()) {
    return recovery_->InitializeUntilReady(
        [this] { return model_->InitialValues(config_.seed()); }, deadline);
  }
  status_->SetState("waiting");
  return ps_->WaitUntilInitialized(deadline);
}

absl::Status Worker::TrainLoop() {
  // Resume the data order: this worker's share of the steps done so far
  // (exact with one worker and in-memory data; docs/checkpoints.md).
  ASSIGN_OR_RETURN(int64_t batch_index, BatchesDone());
  ASSIGN_OR_RETURN(std::unique_ptr<BatchStream> batches, input_->Training(batch_index));
  Dataset batch;
  std::vector<const Tensor*> params;
  for (const Tensor& t : values_) params.push_back(&t);
  const absl::Time train_start = clock_->Now();
  // The training rate after the first kWarmupSteps steps (their first pulls,
  // fresh pages, a SYNC job's wait for its last worker to start), as the
  // benchmarks' references time theirs.
  constexpr int64_t kWarmupSteps = 20;
  absl::Time warm_start = absl::InfinitePast();
  absl::Time log_start = train_start;
  int64_t log_steps = 0;
  int64_t local_step = 0;
  absl::Duration log_input_wait;
  absl::Duration total_input_wait;
  // Where the steps since the last progress line went: pulling (with SYNC's
  // and STALE's waits), the batch and its gradients (and the CPU this process
  // used meanwhile, the overlapped push's included), pushing (what is left of
  // the push after backward).
  absl::Duration log_pull, log_compute, log_compute_cpu, log_push;
  // SYNC and STALE (docs/update_modes.md): the min_version of the next Pull;
  // 0 after a (re)start or a ps restart: take the newest values at once.
  int64_t wait_version = 0;
  int64_t pushes_dropped = 0;
  // A batch taken for a step whose pull then failed (the overlapped pull),
  // trained in the step that redoes it.
  bool have_batch = false;
  absl::Duration input_wait;
  uint64_t step_seed = 0;
  // The step's batch (unless one is kept): false when the data ran out.
  auto take_batch = [&]() -> absl::StatusOr<bool> {
    if (have_batch) return true;
    status_->SetWaitingFor("the next input batch");
    absl::StatusOr<bool> more = batches->Next(&batch);
    status_->SetWaitingFor("");
    RETURN_IF_ERROR(Annotate(more.status(), "training input"));
    if (!*more) return false;
    input_wait = batches->last_wait();
    log_input_wait += input_wait;
    total_input_wait += input_wait;
    step_seed = config_.seed() * 1000003u + options_.task * 7919u + batch_index++;
    have_batch = true;
    return true;
  };
  const absl::Status ran_out = absl::OutOfRangeError("training input: the data ran out");
  while (!stop_requested_) {
    const absl::Time step_start = clock_->Now();
    // The CPU this process used from here is the step's compute (with the
    // overlapped pull's receiving; else from the end of the pull).
    absl::Duration cpu_at_compute = ProcessCpuTime();
    const std::vector<uint64_t> incarnations = ps_->incarnations();
    // The pull overlaps forward: each layer starts once its variables are in.
    // Then the batch comes first, and the status says what the step waits for
    // until the first values arrive (PsGroup::StartPull).
    const bool overlap_pull = !config_.pull_before_forward();
    if (overlap_pull) {
      ASSIGN_OR_RETURN(const bool more, take_batch());
      if (!more) return ran_out;
    }
    if (wait_version > 0) {
      status_->SetWaitingFor(absl::StrCat("the other workers (", UpdateMode_Name(config_.update_mode()),
                                          ", pull with min_version ", wait_version, ")"));
    }
    absl::StatusOr<PsGroup::Pulled> pulled;
    // The time the step waited for its values (overlapped: added below).
    absl::Duration pull_waited;
    if (overlap_pull) {
      RETURN_IF_ERROR(ps_->StartPull(&values_, wait_version));
    } else {
      pulled = ps_->PullAll(&values_, wait_version);
      if (wait_version > 0) status_->SetWaitingFor("");
      ASSIGN_OR_RETURN(const StepEnd end, PulledOrRecovered(pulled.status(), &wait_version));
      if (end == StepEnd::kStop) break;
      if (end == StepEnd::kRedo) continue;
      global_step_ = pulled->global_step;
      if (global_step_ >= config_.max_steps()) break;
      pull_waited = clock_->Now() - step_start;
      cpu_at_compute = ProcessCpuTime();
      ASSIGN_OR_RETURN(const bool more, take_batch());
      if (!more) return ran_out;
    }
    // SYNC: the step the values belong to; the ps drops it if it is stale.
    auto push_step_of = [this](const PsGroup::Pulled& p) {
      return config_.update_mode() == SYNC ? p.min_version : p.global_step;
    };
    // The push overlaps backward: each gradient leaves as soon as it is final.
    const bool overlap = !config_.push_after_backward();
    if (overlap) {
      if (overlap_pull) {
        // Its step comes with the pull's answer, complete before backward
        // makes the first gradient; nothing is sent past max_steps.
        const absl::Status started =
            ps_->StartPush(&grads_, [this, push_step_of]() -> absl::StatusOr<int64_t> {
              ASSIGN_OR_RETURN(const PsGroup::Pulled p, ps_->AwaitPull());
              if (p.global_step >= config_.max_steps()) {
                return absl::CancelledError("the job reached max_steps");
              }
              return push_step_of(p);
            });
        if (!started.ok()) {
          ps_->FinishPull().IgnoreError();  // it writes into values_ until it ends
          return started;
        }
      } else {
        RETURN_IF_ERROR(ps_->StartPush(&grads_, push_step_of(*pulled)));
      }
    }
    absl::StatusOr<float> loss = model_->ComputeGradients(
        params, batch, step_seed, &grads_,
        overlap ? Model::GradientReady([this](size_t v) { ps_->GradientReady(v); }) : nullptr,
        overlap_pull ? Model::AwaitParams([this](size_t v) { return ps_->AwaitVariable(v); })
                     : nullptr);
    if (overlap_pull) {
      pulled = ps_->FinishPull();
      pull_waited += ps_->pull_waited();
      if (wait_version > 0) status_->SetWaitingFor("");
      if (!pulled.ok() || pulled->global_step >= config_.max_steps()) {
        if (overlap) ps_->AbandonPush();
        ASSIGN_OR_RETURN(const StepEnd end, PulledOrRecovered(pulled.status(), &wait_version));
        if (end == StepEnd::kStop) break;
        if (end == StepEnd::kRedo) continue;  // with the same batch
        global_step_ = pulled->global_step;
        break;  // at max_steps
      }
      global_step_ = pulled->global_step;
    }
    const int64_t push_step = push_step_of(*pulled);
    if (!loss.ok()) {
      if (overlap) ps_->AbandonPush();
      return loss.status();
    }
    have_batch = false;
    last_loss_ = *loss;
    const absl::Time computed_at = clock_->Now();
    const absl::Duration compute_cpu = ProcessCpuTime() - cpu_at_compute;
    absl::StatusOr<int64_t> pushed = overlap ? ps_->FinishPush() : ps_->PushAll(grads_, push_step);
    if (!pushed.ok() && stop_requested_) {
      LOG(WARNING) << "stopping without finishing the step: " << pushed.status().message();
      break;
    }
    if (IsNotInitializedError(pushed.status())) {
      const absl::Status recovered = recovery_->Recover(pushed.status());
      if (!recovered.ok() && stop_requested_) {
        LOG(WARNING) << "stopping while a ps recovers: " << recovered.message();
        break;
      }
      RETURN_IF_ERROR(recovered);
      wait_version = 0;
      RenewSharedTensors();
      continue;
    }
    ASSIGN_OR_RETURN(global_step_, std::move(pushed));
    log_pull += pull_waited;
    log_compute += computed_at - step_start - pull_waited;
    log_compute_cpu += compute_cpu;
    log_push += clock_->Now() - computed_at;
    ++local_step;
    if (local_step == kWarmupSteps) warm_start = clock_->Now();
    ++log_steps;
    if (ps_->last_chunks_dropped() > 0) ++pushes_dropped;
    // SYNC: wait for the next step (a dropped push just takes the newest).
    // STALE: any min_version > 0 passes the staleness gate.
    if (config_.update_mode() == SYNC) wait_version = push_step + 1;
    if (config_.update_mode() == STALE) wait_version = local_step;
    if (ps_->incarnations() != incarnations) {
      wait_version = 0;
      RenewSharedTensors();
    }
    status_->RecordStep(global_step_, last_loss_, batch.size(), input_wait);
    StepInfo info;
    info.global_step = global_step_;
    info.local_step = local_step;
    info.loss = last_loss_;
    info.batch_size = batch.size();
    info.step_seconds = absl::ToDoubleSeconds(clock_->Now() - step_start);
    info.input_wait_seconds = absl::ToDoubleSeconds(input_wait);
    info.values = &values_;
    info.batch = &batch;
    for (auto& hook : hooks_) RETURN_IF_ERROR(hook->AfterStep(info));
    if (config_.log_every_steps() > 0 && local_step % config_.log_every_steps() == 0) {
      const double secs = absl::ToDoubleSeconds(clock_->Now() - log_start);
      LOG(INFO) << "global step " << global_step_ << " (local " << local_step << ") loss "
                << last_loss_ << ", " << log_steps * config_.batch_size() / secs
                << " images/s, input wait "
                << absl::StrFormat("%.1f%%", secs > 0 ? 100 * absl::ToDoubleSeconds(log_input_wait) / secs : 0.0)
                << absl::StrFormat("; per step: pull %.1f ms, compute %.1f ms (CPU %.1f ms), push %.1f ms",
                                   absl::ToDoubleMilliseconds(log_pull) / log_steps,
                                   absl::ToDoubleMilliseconds(log_compute) / log_steps,
                                   absl::ToDoubleMilliseconds(log_compute_cpu) / log_steps,
                                   absl::ToDoubleMilliseconds(log_push) / log_steps);
      log_start = clock_->Now();
      log_steps = 0;
      log_input_wait = log_pull = log_compute = log_compute_cpu = log_push = absl::ZeroDuration();
    }
  }
  const absl::Time train_end = clock_->Now();
  const double train_secs = absl::ToDoubleSeconds(train_end - train_start);
  const double warm_secs = absl::ToDoubleSeconds(train_end - warm_start);
  LOG(INFO) << "trained " << local_step << " local steps in " << train_secs << " s ("
            << (train_secs > 0 ? local_step * config_.batch_size() / train_secs : 0)
            << " images/s), input wait "
            << absl::StrFormat("%.2f%% (%.2f s)",
                               train_secs > 0
                                   ? 100 * absl::ToDoubleSeconds(total_input_wait) / train_secs
                                   : 0.0,
                               absl::ToDoubleSeconds(total_input_wait));
  if (local_step > kWarmupSteps && warm_secs > 0) {
    LOG(INFO) << "after the first " << kWarmupSteps
              << " steps: " << (local_step - kWarmupSteps) * config_.batch_size() / warm_secs
              << " images/s (" << local_step - kWarmupSteps << " steps in " << warm_secs << " s)";
  }
  if (config_.update_mode() == SYNC) {
    LOG(INFO) << "SYNC: " << pushes_dropped << " of " << local_step
              << " pushes had gradients dropped (stale or duplicate)";
  }
  if (stop_requested_) LOG(INFO) << "stopping on request at global step " << global_step_;
  return absl::OkStatus();
}

std::shared_ptr<SharedMemory> Worker::MakeTensors(std::vector<Tensor>* values,
                                                  std::vector<Tensor>* grads) const {
  if (ps_->can_share_memory()) {
    std::vector<Shape> shapes;
    for (const VariableInfo& v : variables_) shapes.push_back(v.shape);
    absl::StatusOr<std::shared_ptr<SharedMemory>> memory = MakeSharedTensors(shapes, values, grads);
    if (memory.ok()) {
      LOG(INFO) << "the variables and gradients (" << (*memory)->size() / 1e6
                << " MB) are in memory shared with the ps of this host";
      return *memory;
    }
    LOG(WARNING) << "the variables and gradients are in this process's own memory: "
                 << memory.status().message();
  }
  values->clear();
  grads->clear();
  for (const VariableInfo& v : variables_) {
    values->emplace_back(v.shape);
    grads->emplace_back(v.shape);
  }
  return nullptr;
}

void Worker::RenewSharedTensors() {
  if (tensor_memory_ != nullptr) {
    std::vector<Tensor> values, grads;
    tensor_memory_ = MakeTensors(&values, &grads);
    // Element by element: the Tensor objects stay where the step's
    // pointers to them are.
    for (size_t i = 0; i < values_.size(); ++i) {
      std::copy_n(values_[i].data(), values_[i].size(), values[i].data());
      values_[i] = std::move(values[i]);
      grads_[i] = std::move(grads[i]);
    }
  }
  ps_->ShareTensorMemory(tensor_memory_);  // and the connections make new segments of their own
}

absl::StatusOr<Worker::StepEnd> Worker::PulledOrRecovered(const absl::Status& pulled,
                                                          int64_t* wait_version) {
  if (pulled.ok()) {
    broken_pulls_ = 0;
    return StepEnd::kGo;
  }
  if (stop_requested_) {
    LOG(WARNING) << "stopping without finishing the step: " << pulled.message();
    return StepEnd::kStop;
  }
  if (IsNotInitializedError(pulled)) {
    const absl::Status recovered = recovery_->Recover(pulled);
    if (!recovered.ok() && stop_requested_) {
      LOG(WARNING) << "stopping while a ps recovers: " << recovered.message();
      return StepEnd::kStop;
    }
    RETURN_IF_ERROR(recovered);
    *wait_version = 0;
    RenewSharedTensors();
    return StepEnd::kRedo;
  }
  constexpr int kMaxBrokenPulls = 10;
  if (absl::IsAborted(pulled) && ++broken_pulls_ <= kMaxBrokenPulls) {
    LOG(WARNING) << "redoing the step: " << pulled.message();
    RenewSharedTensors();  // the abandoned push's chunks may still be read
    return StepEnd::kRedo;
  }
  return pulled;
}

absl::StatusOr<int64_t> Worker::BatchesDone() {
  absl::StatusOr<int64_t> step = ps_->PullAll(&values_);
  if (IsNotInitializedError(step.status())) return 0;  // the loop recovers
  RETURN_IF_ERROR(step.status());
  const int64_t done = std::min(*step, config_.max_steps()) / cluster_.num_workers();
  if (done > 0) {
    if (config_.data().has_image_shards()) {
      LOG(INFO) << "resuming at global step " << *step << ": " << done
                << " batches of this worker's data done; the image shards start a new "
                   "shuffled order";
    } else {
      LOG(INFO) << "resuming at global step " << *step << ": skipped " << done
                << " batches of this worker's data";
    }
  }
  return done;
}

void Worker::WaitForWorkers() {
  status_->SetState("waiting");
  const TaskTarget ps0{TaskId{kPsJob, 0}, *cluster_.TaskAddress({kPsJob, 0})};
  const absl::Time deadline = clock_->Now() + options_.wait_for_workers;
  absl::Time next_log = clock_->Now();
  std::set<int> gone;  // missing workers, logged once
  while (true) {
    std::vector<int> missing;
    const TaskStatus st = admin_->GetStatuses({ps0}, absl::Seconds(5))[0];
    if (st.reachable()) {
      std::vector<bool> done(cluster_.num_workers(), false);
      for (const WorkerProgress& p : st.response.workers()) {
        if (p.task() < 0 || p.task() >= cluster_.num_workers()) continue;
        done[p.task()] = p.done();
        // Silent for worker_timeout_secs (dead): not waited for.
        if (p.missing() && !p.done()) {
          done[p.task()] = true;
          if (gone.insert(p.task()).second) {
            LOG(WARNING) << "not waiting for worker " << p.task()
                         << ": missing (no push or pull for "
                         << config_.worker_timeout_secs() << " s; last step "
                         << p.last_step() << ")";
          }
        }
      }
      for (int i = 0; i < cluster_.num_workers(); ++i) {
        if (!done[i]) missing.push_back(i);
      }
      if (missing.empty()) break;
    }
    const std::string what =
        st.reachable() ? absl::StrCat("workers ", absl::StrJoin(missing, ", "), " to finish")
                       : absl::StrCat("ps 0 status: ", st.rpc_status.message());
    status_->SetWaitingFor(what);
    if (clock_->Now() >= deadline) {
      LOG(WARNING) << "gave up waiting for " << what << " after "
                   << absl::FormatDuration(options_.wait_for_workers);
      break;
    }
    if (clock_->Now() >= next_log) {
      LOG(INFO) << "waiting for " << what;
      next_log = clock_->Now() + absl::Seconds(5);
    }
    clock_->SleepFor(absl::Milliseconds(200));
  }
  status_->SetWaitingFor("");
}

void Worker::ShutDownOthers(const std::string& reason) {
  std::vector<TaskTarget> workers, ps_tasks;
  for (const auto& [id, address] : cluster_.AllTasks()) {
    if (id.job == kWorkerJob && id.index == options_.task) continue;
    (id.job == kWorkerJob ? workers : ps_tasks).push_back(TaskTarget{id, address});
  }
  if (admin_ == nullptr) {
    LOG(ERROR) << "cannot ask the other " << workers.size() + ps_tasks.size()
               << " tasks to shut down: no admin client";
    return;
  }
  LOG(INFO) << "asking the other " << workers.size() + ps_tasks.size()
            << " tasks to shut down (workers first)";
  // The workers first: each has taken its stop request before the ps tasks
  // go away, so the calls the ps tasks cancel as they shut down end its step
  // as a requested stop (exit 0), not as a failed Pull or Push (exit 1).
  ShutDownTasks(std::move(workers), reason);
  ShutDownTasks(std::move(ps_tasks), reason);
}

void Worker::ShutDownTasks(std::vector<TaskTarget> tasks, const std::string& reason) {
  // A task that did not answer (busy, or slow to take a connection) is asked
  // again, three times in all: one left running would train on alone.
  for (int attempt = 1; attempt <= 3 && !tasks.empty(); ++attempt) {
    const std::vector<absl::Status> results = admin_->Shutdown(tasks, reason, absl::Seconds(10));
    std::vector<TaskTarget> again;
    for (size_t i = 0; i < tasks.size(); ++i) {
      if (results[i].ok()) continue;
      LOG(WARNING) << "could not shut down " << tasks[i].ToString() << " (attempt " << attempt
                   << " of 3): " << results[i].message();
      again.push_back(tasks[i]);
    }
    tasks = std::move(again);
  }
}

void Worker::ShutDownPs() {
  std::vector<TaskTarget> ps_tasks;
  for (int i = 0; i < cluster_.num_ps(); ++i) {
    ps_tasks.push_back(TaskTarget{TaskId{kPsJob, i}, *cluster_.TaskAddress({kPsJob, i})});
  }
  const std::vector<absl::Status> results =
      admin_->Shutdown(ps_tasks, "training finished", absl::Seconds(10));
  for (size_t i = 0; i < ps_tasks.size(); ++i) {
    if (results[i].ok()) {
      LOG(INFO) << "shut down " << ps_tasks[i].ToString();
    } else {
      LOG(WARNING) << "could not shut down " << ps_tasks[i].ToString() << ": "
                   << results[i].message();
    }
  }
}

}  // namespace tessera
