#ifndef TESSERA_PS_PS_LIMITS_H_
#define TESSERA_PS_PS_LIMITS_H_

// The caps that keep a bad or buggy client from harming a parameter server
// (docs/security.md, "Limits"): the bytes it holds, its number of blocks, one
// block's size, and the streams one peer may have open. A request over a cap
// is refused with RESOURCE_EXHAUSTED naming the cap's flag, the value asked
// and the limit; the ps holds nothing more for it and serves the others on.
// Pure functions and a plain struct; thread-compatible.

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "protos/ps_service.pb.h"

namespace tessera {

inline constexpr int64_t kDefaultMaxBlocks = 1000000;
inline constexpr int64_t kDefaultMaxBlockBytes = int64_t{4} << 30;  // 4 GiB
inline constexpr int kDefaultMaxStreamsPerPeer = 64;
// tessera_ps's --max_bytes_held default: this share of physical memory.
inline constexpr int kDefaultMaxBytesHeldPercent = 80;

struct PsLimits {
  // --max_bytes_held: block values, optimizer slots and SYNC accumulators
  // together (VariableBlock::bytes_held). tessera_ps sets
  // kDefaultMaxBytesHeldPercent of physical memory; a PsServer built without
  // it has no byte cap.
  int64_t max_bytes_held = std::numeric_limits<int64_t>::max();
  // --max_blocks: blocks held.
  int64_t max_blocks = kDefaultMaxBlocks;
  // --max_block_bytes: one block's values (elements x 4 bytes).
  int64_t max_block_bytes = kDefaultMaxBlockBytes;
  // --max_streams_per_peer: Pull, Push and Snapshot streams one client
  // address has open at once (ps/stream_limiter.h).
  int max_streams_per_peer = kDefaultMaxStreamsPerPeer;
};

// OK, or INVALID_ARGUMENT naming the flag, the value and the range:
// "--max_blocks must be >= 1, got 0".
absl::Status ValidatePsLimits(const PsLimits& limits);

// The MemTotal line of /proc/meminfo text ("MemTotal:  24567890 kB"), in
// bytes; INVALID_ARGUMENT when there is none or it does not parse.
absl::StatusOr<int64_t> ParseMemTotal(absl::string_view meminfo);

// kDefaultMaxBytesHeldPercent of `mem_total_bytes`.
int64_t DefaultMaxBytesHeld(int64_t mem_total_bytes);

// For the ps's start log: "--max_bytes_held=... --max_blocks=...
// --max_block_bytes=... --max_streams_per_peer=...".
std::string DescribePsLimits(const PsLimits& limits);

// Whether creating `request`'s blocks keeps the ps within `limits`, checked
// before anything is allocated. Each block holds its values, `trainable_slots`
// optimizer slots when TRAINABLE, and `sync_buffers` block-sized SYNC
// accumulator buffers (0 outside SYNC: ps/sync_accumulator.h); the ps
// holds `held_blocks` blocks of `held_bytes` bytes already. Checks, in order:
// the bytes held (--max_bytes_held), the block count (--max_blocks), each
// block's values (--max_block_bytes); the first cap exceeded is
// RESOURCE_EXHAUSTED naming its flag, the value asked and the limit.
// Requires a request that passed ValidateCreateRequest (shapes in range).
absl::Status CheckCreateWithinLimits(const CreateVariablesRequest& request, int trainable_slots,
                                     int sync_buffers, const PsLimits& limits, int64_t held_blocks,
                                     int64_t held_bytes);

}  // namespace tessera

#endif  // TESSERA_PS_PS_LIMITS_H_
