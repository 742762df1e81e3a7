#ifndef TESSERA_TOOLS_NODE_LIST_H_
#define TESSERA_TOOLS_NODE_LIST_H_

// Node lists as batch systems hand them to a job: PBS's $PBS_NODEFILE (one
// host per line, a host repeated once per slot) and Slurm's compressed host
// lists ($SLURM_JOB_NODELIST: "nid[0001-0004,0007]", "node[1-3],gpu[01-02]").
// One grammar covers both:
//
//   list  := terms separated by commas, spaces or newlines; "#" starts a comment
//   term  := text and bracket groups, e.g. "n[1-3]", "rack[1-2]-n[01-02]"
//   group := "[" item ("," item)* "]", item := NUM or NUM "-" NUM
//
// A range keeps the zero padding of its lower bound ("[08-10]" -> 08 09 10).
// Several groups in one term expand to every combination, in order. Host
// names may hold letters, digits, '.', '-' and '_'. Pure functions; thread-safe.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tessera {

// The most hosts one list may expand to (guards against "n[0-999999999]").
inline constexpr int kMaxNodeListHosts = 100000;

// Every host of `text` in order, repeats kept. INVALID_ARGUMENT naming
// `source`, the line and column and the problem (unbalanced bracket, bad
// range, bad character, ...), or saying the list is empty.
absl::StatusOr<std::vector<std::string>> ParseNodeList(absl::string_view text,
                                                       absl::string_view source);

// `hosts` with repeats removed, each kept at its first appearance.
std::vector<std::string> UniqueHosts(const std::vector<std::string>& hosts);

}  // namespace tessera

#endif  // TESSERA_TOOLS_NODE_LIST_H_
