#include "worker/client_segments.h"

#include <utility>

#include "common/logging.h"

namespace tessera {
namespace {

// After a failed registration, the calls send bytes this long before asking
// again.
constexpr absl::Duration kRetryInterval = absl::Minutes(1);
// How long a registration may take to be answered.
constexpr absl::Duration kRegistrationTimeout = absl::Seconds(10);

}  // namespace

SharedSegment* ClientSegments::For(Kind kind, size_t bytes) {
  std::unique_ptr<SharedSegment>& segment = segments_[kind];
  if (socket_path_.empty() || bytes == 0) return nullptr;
  if (segment != nullptr && segment->size() >= bytes) return segment.get();
  segment.reset();
  segment = Register(nullptr, bytes);
  return segment.get();
}

std::unique_ptr<SharedSegment> ClientSegments::Register(std::shared_ptr<SharedMemory> memory,
                                                        size_t bytes) {
  {
    absl::MutexLock lock(&mu_);
    if (clock_->Now() < retry_after_) return nullptr;
  }
  absl::StatusOr<std::unique_ptr<SharedSegment>> made =
      memory != nullptr
          ? SharedSegment::Register(socket_path_, std::move(memory), worker_task_,
                                    kRegistrationTimeout)
          : SharedSegment::Create(socket_path_, bytes, worker_task_, kRegistrationTimeout);
  if (made.ok()) return std::move(*made);
  absl::MutexLock lock(&mu_);
  if (!warned_) {  // once: a ps may run without shared memory on purpose
    LOG(WARNING) << "ps " << ps_task_ << ": tensors go through the local socket, not "
                 << "shared memory (asking again every minute, silently): "
                 << made.status().message();
    warned_ = true;
  }
  retry_after_ = clock_->Now() + kRetryInterval;
  return nullptr;
}

void ClientSegments::Drop(Kind kind) {
  segments_[kind].reset();
  absl::MutexLock lock(&mu_);
  tensors_.reset();  // a call that holds it keeps it until it ends
}

void ClientSegments::AfterCall(Kind kind, const absl::Status& status, bool used_tensors) {
  if (EndedByThePs(status)) return;
  segments_[kind].reset();
  if (!used_tensors) return;
  absl::MutexLock lock(&mu_);
  if (tensors_off_[kind]) return;
  tensors_off_[kind] = true;
  LOG(WARNING) << "ps " << ps_task_ << ": a " << (kind == kPush ? "push" : "pull")
               << " ended on this side while the ps could still "
               << (kind == kPush ? "read the gradients" : "write the variables")
               << " in shared memory (" << status.message() << "); this worker's "
               << (kind == kPush ? "pushes" : "pulls")
               << " to this ps copy them through a segment of their own until its tensors move "
                  "to new memory";
}

void ClientSegments::ShareTensors(std::shared_ptr<SharedMemory> memory) {
  segments_[kPush].reset();
  segments_[kPull].reset();
  absl::MutexLock lock(&mu_);
  tensors_memory_ = std::move(memory);
  tensors_.reset();
  // New memory: no ps is still at work in it, whatever ended on this side.
  tensors_off_[kPush] = tensors_off_[kPull] = false;
}

std::shared_ptr<SharedSegment> ClientSegments::Tensors(Kind kind) {
  std::shared_ptr<SharedMemory> memory;
  {
    absl::MutexLock lock(&mu_);
    if (socket_path_.empty() || tensors_memory_ == nullptr || tensors_off_[kind]) return nullptr;
    if (tensors_ != nullptr) return tensors_;
    memory = tensors_memory_;
  }
  // A push and a pull that both register here make two registrations; the
  // ps holds each until its connection closes, and the last one stays.
  std::shared_ptr<SharedSegment> made = Register(std::move(memory), 0);
  if (made == nullptr) return nullptr;
  absl::MutexLock lock(&mu_);
  tensors_ = made;
  return made;
}

bool ClientSegments::EndedByThePs(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

}  // namespace tessera
