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
  {
    absl::MutexLock lock(&mu_);
    if (clock_->Now() < retry_after_) return nullptr;
  }
  absl::StatusOr<std::unique_ptr<SharedSegment>> made =
      SharedSegment::Create(socket_path_, bytes, worker_task_, kRegistrationTimeout);
  if (!made.ok()) {
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
  segment = std::move(*made);
  return segment.get();
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
