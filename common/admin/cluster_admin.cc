#include "common/admin/cluster_admin.h"

#include "absl/strings/str_cat.h"

namespace tessera {

std::string TaskTarget::ToString() const { return absl::StrCat(id.ToString(), " at ", address); }

}  // namespace tessera
