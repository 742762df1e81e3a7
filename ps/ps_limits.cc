#include "ps/ps_limits.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/tensor.h"
#include "ps/variable_block.h"
#include "ps/variables_request.h"

namespace tessera {
namespace {

absl::Status OutOfRange(absl::string_view flag, int64_t value, int64_t min, absl::string_view note) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be >= ", min, note, ", got ", value));
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max()
                                                     : a + b;
}

}  // namespace

absl::Status ValidatePsLimits(const PsLimits& limits) {
  if (limits.max_bytes_held < 1) return OutOfRange("max_bytes_held", limits.max_bytes_held, 1, "");
  if (limits.max_blocks < 1) return OutOfRange("max_blocks", limits.max_blocks, 1, "");
  if (limits.max_block_bytes < 4) {
    return OutOfRange("max_block_bytes", limits.max_block_bytes, 4, " (one float)");
  }
  if (limits.max_streams_per_peer < 1) {
    return OutOfRange("max_streams_per_peer", limits.max_streams_per_peer, 1, "");
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ParseMemTotal(absl::string_view meminfo) {
  for (absl::string_view line : absl::StrSplit(meminfo, '\n')) {
    if (!absl::ConsumePrefix(&line, "MemTotal:")) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, ' ', absl::SkipWhitespace());
    int64_t kib = 0;
    if (parts.size() != 2 || parts[1] != "kB" || !absl::SimpleAtoi(parts[0], &kib) || kib <= 0 ||
        kib > std::numeric_limits<int64_t>::max() / 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read the MemTotal line 'MemTotal:", line, "'"));
    }
    return kib * 1024;
  }
  return absl::InvalidArgumentError("no MemTotal line");
}

int64_t DefaultMaxBytesHeld(int64_t mem_total_bytes) {
  return mem_total_bytes / 100 * kDefaultMaxBytesHeldPercent;
}

std::string DescribePsLimits(const PsLimits& limits) {
  return absl::StrCat("--max_bytes_held=", limits.max_bytes_held,
                      " --max_blocks=", limits.max_blocks,
                      " --max_block_bytes=", limits.max_block_bytes,
                      " --max_streams_per_peer=", limits.max_streams_per_peer);
}

absl::Status CheckCreateWithinLimits(const CreateVariablesRequest& request, int trainable_slots,
                                     int sync_buffers, const PsLimits& limits, int64_t held_blocks,
                                     int64_t held_bytes) {
  int64_t needed = 0;
  const BlockSpec* largest = nullptr;
  int64_t largest_bytes = -1;
  for (const BlockSpec& spec : request.blocks()) {
    const int slots = spec.kind() == TRAINABLE ? trainable_slots : 0;
    const int64_t bytes = VariableBlock::BytesFor(NumElements(ShapeOf(spec)), slots, sync_buffers);
    needed = SaturatingAdd(needed, bytes);
    if (bytes > largest_bytes) {
      largest = &spec;
      largest_bytes = bytes;
    }
  }
  if (request.blocks_size() > 0 && needed > limits.max_bytes_held - held_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "CreateVariables needs ", needed, " bytes (values, optimizer slots and SYNC buffers of ",
        request.blocks_size(), " blocks; the largest, '", largest->name(), "' of shape ",
        ShapeString(ShapeOf(*largest)), ", ", largest_bytes, " bytes); --max_bytes_held is ",
        limits.max_bytes_held, " and ", held_bytes, " bytes are held"));
  }
  if (request.blocks_size() > 0 && request.blocks_size() > limits.max_blocks - held_blocks) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "CreateVariables asks for ", request.blocks_size(), " blocks; --max_blocks is ",
        limits.max_blocks, " and ", held_blocks, " blocks are held"));
  }
  for (const BlockSpec& spec : request.blocks()) {
    const Shape shape = ShapeOf(spec);
    const int64_t bytes = NumElements(shape) * static_cast<int64_t>(sizeof(float));
    if (bytes > limits.max_block_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "CreateVariables: block '", spec.name(), "' of shape ", ShapeString(shape), " has ",
          bytes, " bytes of values; --max_block_bytes is ", limits.max_block_bytes));
    }
  }
  return absl::OkStatus();
}

}  // namespace tessera
