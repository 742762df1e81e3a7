#include "worker/hooks/checkpoint_saver.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace tessera {

CheckpointSaver::CheckpointSaver(CheckpointManager* manager, CheckpointSaverOptions options)
    : manager_(manager), options_(std::move(options)), thread_([this] { Loop(); }) {}

CheckpointSaver::~CheckpointSaver() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

bool CheckpointSaver::TryStart(CheckpointContents contents) {
  absl::MutexLock lock(&mu_);
  if (busy_) return false;
  pending_ = std::make_unique<CheckpointContents>(std::move(contents));
  busy_ = true;
  return true;
}

bool CheckpointSaver::Busy() {
  absl::MutexLock lock(&mu_);
  return busy_;
}

absl::Status CheckpointSaver::WaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(+[](bool* busy) { return !*busy; }, &busy_));
  return last_status_;
}

absl::StatusOr<std::string> CheckpointSaver::SaveNow(const CheckpointContents& contents) {
  WaitIdle().IgnoreError();  // logged by the background write already
  return Write(contents);
}

void CheckpointSaver::Loop() {
  while (true) {
    std::unique_ptr<CheckpointContents> contents;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](CheckpointSaver* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
            return s->stop_ || s->pending_ != nullptr;
          },
          this));
      if (pending_ == nullptr) return;  // stop_, nothing left to write
      contents = std::move(pending_);
    }
    absl::Status status = Write(*contents).status();
    contents.reset();
    absl::MutexLock lock(&mu_);
    last_status_ = status;
    busy_ = false;
  }
}

absl::StatusOr<std::string> CheckpointSaver::Write(const CheckpointContents& contents) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> name = [&]() -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(std::unique_ptr<CheckpointWriter> writer,
                     manager_->NewWriter(contents.metadata));
    for (const CheckpointVariable& variable : contents.variables) {
      RETURN_IF_ERROR(writer->AddVariable(variable));
    }
    if (options_.write_delay > absl::ZeroDuration()) {
      LOG(INFO) << "checkpoint " << writer->name() << ": pausing "
                << absl::FormatDuration(options_.write_delay) << " before commit (test delay)";
      absl::SleepFor(options_.write_delay);
    }
    return manager_->Commit(std::move(writer));
  }();
  if (!name.ok()) {
    const absl::Status error = Annotate(
        name.status(),
        absl::StrCat("checkpoint at global step ", contents.metadata.global_step, " not written"));
    LOG(ERROR) << error.message();
    if (options_.on_failed) options_.on_failed(error);
    return error;
  }
  const std::string path = manager_->dir() + "/" + *name;
  LOG(INFO) << "wrote checkpoint " << path << " in "
            << absl::FormatDuration(absl::Now() - start);
  if (options_.on_saved) options_.on_saved(path);
  return name;
}

}  // namespace tessera
