#include "worker/model_fingerprint.h"

#include <cstdint>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/optim/optimizer.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

class Fnv1a64 {
 public:
  void Add(absl::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
    // A separator, so that ("ab", "c") and ("a", "bc") differ.
    hash_ ^= 0xff;
    hash_ *= 0x100000001b3ULL;
  }
  uint64_t hash() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> OptimizerSlotNames(const OptimizerConfig& optimizer) {
  ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> created, CreateOptimizer(optimizer));
  return created->SlotNames();
}

absl::StatusOr<std::string> ModelFingerprint(const std::vector<VariableInfo>& variables,
                                             const OptimizerConfig& optimizer) {
  ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> created, CreateOptimizer(optimizer));
  Fnv1a64 fnv;
  fnv.Add(created->Name());
  for (const std::string& slot : created->SlotNames()) fnv.Add(slot);
  for (const VariableInfo& v : variables) {
    fnv.Add(v.name);
    fnv.Add(ShapeString(v.shape));
    // Named only when not TRAINABLE: models without moving averages keep
    // the fingerprints their checkpoints have.
    if (v.kind != TRAINABLE) fnv.Add(VariableKind_Name(v.kind));
  }
  return absl::StrCat(created->Name(), ":", absl::StrFormat("%016x", fnv.hash()));
}

}  // namespace tessera
