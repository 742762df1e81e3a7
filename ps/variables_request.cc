#include "ps/variables_request.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tessera {

Shape ShapeOf(const BlockSpec& spec) {
  return Shape(spec.shape().dim().begin(), spec.shape().dim().end());
}

std::string FirstDifference(const CreateVariablesRequest& a, const CreateVariablesRequest& b) {
  const int n = std::min(a.blocks_size(), b.blocks_size());
  for (int i = 0; i < n; ++i) {
    const BlockSpec& x = a.blocks(i);
    const BlockSpec& y = b.blocks(i);
    if (x.name() != y.name()) {
      return absl::StrCat("block ", i, " is '", x.name(), "' here, '", y.name(), "' in the request");
    }
    if (ShapeOf(x) != ShapeOf(y) || x.row_offset() != y.row_offset()) {
      return absl::StrCat("block '", x.name(), "' has shape ", ShapeString(ShapeOf(x)),
                          " at row ", x.row_offset(), " here, ", ShapeString(ShapeOf(y)),
                          " at row ", y.row_offset(), " in the request");
    }
    if (x.kind() != y.kind()) {
      return absl::StrCat("block '", x.name(), "' is ", VariableKind_Name(x.kind()), " here, ",
                          VariableKind_Name(y.kind()), " in the request");
    }
  }
  if (a.blocks_size() != b.blocks_size()) {
    const auto& longer = a.blocks_size() > b.blocks_size() ? a : b;
    return absl::StrCat(a.blocks_size(), " blocks here, ", b.blocks_size(),
                        " in the request; first unmatched block '", longer.blocks(n).name(), "'");
  }
  if (a.optimizer().SerializeAsString() != b.optimizer().SerializeAsString()) {
    return "the optimizer configuration differs";
  }
  if (a.update_mode() != b.update_mode() || a.holds_global_step() != b.holds_global_step() ||
      a.num_workers() != b.num_workers()) {
    return "update_mode, num_workers or holds_global_step differs";
  }
  if (a.replicas_to_aggregate() != b.replicas_to_aggregate() ||
      a.total_replicas() != b.total_replicas() || a.staleness() != b.staleness() ||
      a.sync_timeout_secs() != b.sync_timeout_secs() ||
      a.worker_timeout_secs() != b.worker_timeout_secs()) {
    return absl::StrCat("the SYNC/STALE settings differ (replicas_to_aggregate ",
                        a.replicas_to_aggregate(), " vs ", b.replicas_to_aggregate(),
                        ", total_replicas ", a.total_replicas(), " vs ", b.total_replicas(),
                        ", staleness ", a.staleness(), " vs ", b.staleness(), ")");
  }
  return "";
}

int ReplicasToAggregate(const CreateVariablesRequest& r) {
  return r.replicas_to_aggregate() > 0 ? r.replicas_to_aggregate() : r.num_workers();
}

namespace {

absl::Status ValidateModeSettings(const CreateVariablesRequest& r) {
  auto invalid = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("CreateVariables: ", what));
  };
  if (!UpdateMode_IsValid(r.update_mode())) {
    return invalid(absl::StrCat("unknown update_mode ", static_cast<int>(r.update_mode())));
  }
  const int total = r.total_replicas() > 0 ? r.total_replicas() : r.num_workers();
  if (r.replicas_to_aggregate() < 0 || r.total_replicas() < 0) {
    return invalid(absl::StrCat("replicas_to_aggregate (", r.replicas_to_aggregate(),
                                ") and total_replicas (", r.total_replicas(), ") must be >= 0"));
  }
  if (total > r.num_workers()) {
    return invalid(absl::StrCat("total_replicas ", total, " exceeds num_workers ",
                                r.num_workers()));
  }
  if (ReplicasToAggregate(r) > total) {
    return invalid(absl::StrCat("replicas_to_aggregate ", ReplicasToAggregate(r),
                                " exceeds total_replicas ", total));
  }
  if (r.staleness() < 0) {
    return invalid(absl::StrCat("staleness must be >= 0, got ", r.staleness()));
  }
  if (!(r.sync_timeout_secs() >= 0) || !(r.worker_timeout_secs() >= 0)) {
    return invalid(absl::StrCat("sync_timeout_secs (", r.sync_timeout_secs(),
                                ") and worker_timeout_secs (", r.worker_timeout_secs(),
                                ") must be >= 0"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCreateRequest(const CreateVariablesRequest& request) {
  if (request.fingerprint().empty()) {
    return absl::InvalidArgumentError("CreateVariables: empty model fingerprint");
  }
  if (request.num_workers() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("CreateVariables: num_workers must be >= 1, got ", request.num_workers()));
  }
  RETURN_IF_ERROR(ValidateModeSettings(request));
  std::set<std::string> names;
  for (const BlockSpec& spec : request.blocks()) {
    if (spec.name().empty()) return absl::InvalidArgumentError("CreateVariables: a block has no name");
    if (!names.insert(spec.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("CreateVariables: block '", spec.name(), "' appears twice"));
    }
    const Shape shape = ShapeOf(spec);
    RETURN_IF_ERROR(ValidateShape(shape, absl::StrCat("block '", spec.name(), "'")));
    if (NumElements(shape) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block '", spec.name(), "' has shape ", ShapeString(shape), " with no elements"));
    }
    if (!VariableKind_IsValid(spec.kind())) {
      return absl::InvalidArgumentError(absl::StrCat("block '", spec.name(),
                                                     "' has unknown kind ",
                                                     static_cast<int>(spec.kind())));
    }
    if (spec.row_offset() < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "block '", spec.name(), "' has negative row_offset ", spec.row_offset()));
    }
  }
  return absl::OkStatus();
}

}  // namespace tessera
