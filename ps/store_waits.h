#ifndef TESSERA_PS_STORE_WAITS_H_
#define TESSERA_PS_STORE_WAITS_H_

// When a waiting Pull of SYNC or STALE may stream (protos/ps_service.proto,
// PullRequest.min_version; docs/update_modes.md), and what waiting Pulls
// wait for, worded for status and timeout errors. Reads of the store's core
// (ps/store_core.h), its blocks and its worker tracker; thread-safe.
//
// Lock order: the core's lock, a block's mu and the tracker's lock are never
// held together here.

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "protos/ps_service.pb.h"
#include "ps/store_core.h"
#include "ps/variable_block.h"

namespace tessera {

// Whether the Pull `request` over `blocks` may stream now: true unless SYNC
// or STALE and request.min_version() > 0 and the wait is not over.
bool PullReady(const StoreCore& core, const PullRequest& request,
               const std::vector<VariableBlock*>& blocks);

// The DEADLINE_EXCEEDED of a Pull still waiting at sync_timeout: names the
// step or gate and the workers waited for. OK when the wait is over after all.
absl::Status PullTimeoutError(const StoreCore& core, const PullRequest& request,
                              const std::vector<VariableBlock*>& blocks);

// SYNC: the workers counted for the current step (the global-step count on
// the ps holding it, else the first block's accumulator); empty in other modes.
std::set<int> SyncContributors(const StoreCore& core);

// What waiting Pulls wait for, for status; "" when none wait.
std::string WaitingFor(const StoreCore& core);

}  // namespace tessera

#endif  // TESSERA_PS_STORE_WAITS_H_
