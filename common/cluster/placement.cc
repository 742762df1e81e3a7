#include "common/cluster/placement.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

uint64_t Fnv1a64(absl::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::vector<int> PlacementPlan::BlocksOn(int ps_task) const {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(blocks.size()); ++i) {
    if (blocks[i].ps_task == ps_task) out.push_back(i);
  }
  return out;
}

std::vector<int> PlacementPlan::BlocksOf(const std::string& variable) const {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(blocks.size()); ++i) {
    if (blocks[i].variable == variable) out.push_back(i);
  }
  return out;
}

absl::StatusOr<PlacementPlan> PlaceVariables(const std::vector<VariableInfo>& variables,
                                             int num_ps, int64_t partition_bytes) {
  if (num_ps < 1) {
    return absl::InvalidArgumentError(absl::StrCat("placement needs at least one ps, got ", num_ps));
  }
  if (partition_bytes < 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition_bytes must be at least 4, got ", partition_bytes));
  }
  PlacementPlan plan;
  plan.num_ps = num_ps;
  std::set<std::string> names;
  for (const VariableInfo& v : variables) {
    if (v.name.empty()) return absl::InvalidArgumentError("a variable has an empty name");
    if (!names.insert(v.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("variable \"", v.name, "\" appears twice"));
    }
    RETURN_IF_ERROR(ValidateShape(v.shape, absl::StrCat("variable \"", v.name, "\"")));
    const int64_t bytes = NumElements(v.shape) * 4;
    const int64_t rows = v.shape.empty() ? 1 : v.shape[0];
    int64_t parts = 1;
    if (bytes > partition_bytes && rows > 1) {
      parts = (bytes + partition_bytes - 1) / partition_bytes;
      parts = (parts + num_ps - 1) / num_ps * num_ps;
      parts = std::min(parts, rows);
    }
    if (parts == 1) {
      plan.blocks.push_back(PlacedBlock{v.name, v.name, v.shape, 0, 0, v.kind});
      continue;
    }
    int64_t row = 0;
    for (int64_t p = 0; p < parts; ++p) {
      // The first rows % parts blocks get one extra row.
      const int64_t n = rows / parts + (p < rows % parts ? 1 : 0);
      Shape shape = v.shape;
      shape[0] = n;
      plan.blocks.push_back(PlacedBlock{absl::StrCat(v.name, "/part_", p), v.name,
                                        std::move(shape), row, 0, v.kind});
      row += n;
    }
  }

  std::vector<int> order(plan.blocks.size());
  for (int i = 0; i < static_cast<int>(order.size()); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const PlacedBlock& x = plan.blocks[a];
    const PlacedBlock& y = plan.blocks[b];
    if (x.bytes() != y.bytes()) return x.bytes() > y.bytes();
    return x.name < y.name;
  });
  plan.ps_bytes.assign(num_ps, 0);
  for (int i : order) {
    int best = 0;
    for (int ps = 1; ps < num_ps; ++ps) {
      if (plan.ps_bytes[ps] < plan.ps_bytes[best]) best = ps;
    }
    plan.blocks[i].ps_task = best;
    plan.ps_bytes[best] += plan.blocks[i].bytes();
  }

  std::string canonical = absl::StrCat("ps=", num_ps, ";partition_bytes=", partition_bytes, ";");
  for (const PlacedBlock& b : plan.blocks) {
    absl::StrAppend(&canonical, b.name, "|", b.variable, "|", ShapeString(b.shape), "|",
                    b.row_offset, "|", b.ps_task);
    // Only other kinds are named, so plans of TRAINABLE variables keep their
    // fingerprints.
    if (b.kind != TRAINABLE) absl::StrAppend(&canonical, "|", VariableKind_Name(b.kind));
    absl::StrAppend(&canonical, ";");
  }
  plan.fingerprint = absl::StrFormat("%016x", Fnv1a64(canonical));
  return plan;
}

}  // namespace tessera
