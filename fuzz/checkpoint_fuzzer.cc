// Checkpoint files (common/checkpoint/checkpoint.h, checkpoint_manager.h):
// the index, the data file and the state file of a checkpoint directory, read
// as a restarted chief reads them. Whatever the files hold, the reader returns
// tensors exactly as the index describes them, or DATA_LOSS /
// INVALID_ARGUMENT / NOT_FOUND; RestoreLatest and ListCheckpoints never crash.
//
// Input: a mode byte, the index (2-byte length, then bytes), the state file
// (likewise, when mode bit 1 is set) and the data file (the rest).
//   mode bit 0 clear: the index and data files are the bytes as given (the
//     name is ckpt-1);
//   mode bit 0 set:   the bytes are record payloads, framed here as TFRecords
//     with correct CRCs: the index is one record, the data a sequence of
//     records (2-byte length, then bytes). When the index parses, its
//     data_file_bytes and data_file_crc32c are set to the data file's, so the
//     checks behind the CRCs are reached; the name comes from its global_step.

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/checkpoint/checkpoint.h"
#include "common/checkpoint/checkpoint_manager.h"
#include "common/coding.h"
#include "common/crc32c.h"
#include "common/tensor.h"
#include "fuzz/fuzz_support.h"
#include "protos/checkpoint.pb.h"

namespace tessera {
namespace {

std::string Framed(absl::string_view payload) {
  char header[12];
  EncodeFixed64(header, payload.size());
  EncodeFixed32(header + 8, crc32c::Mask(crc32c::Value(header, 8)));
  char footer[4];
  EncodeFixed32(footer, crc32c::Mask(crc32c::Value(payload.data(), payload.size())));
  return absl::StrCat(absl::string_view(header, sizeof(header)), payload,
                      absl::string_view(footer, sizeof(footer)));
}

void CheckContents(const CheckpointContents& contents, const CheckpointIndex& index) {
  size_t tensors = 0;
  for (const CheckpointVariable& v : contents.variables) {
    FUZZ_CHECK(v.value.size() == NumElements(v.value.shape()), v.name);
    for (const auto& [slot, tensor] : v.slots) {
      FUZZ_CHECK(tensor.size() == NumElements(tensor.shape()), absl::StrCat(v.name, "/", slot));
    }
    tensors += 1 + v.slots.size();
  }
  FUZZ_CHECK(tensors == static_cast<size_t>(index.tensors_size()),
             absl::StrCat(tensors, " tensors read, ", index.tensors_size(), " in the index"));
}

}  // namespace
}  // namespace tessera

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  fuzz::FuzzInput input(data, size);
  const uint8_t mode = input.Byte();
  const bool framed = mode & 1;
  const bool with_state = mode & 2;
  const absl::string_view index_bytes = input.LengthPrefixed();
  const absl::string_view state_text = with_state ? input.LengthPrefixed() : absl::string_view();

  std::string index_file, data_file;
  int64_t step = 1;
  CheckpointIndex index;
  if (!framed) {
    index_file = std::string(index_bytes);
    data_file = std::string(input.Rest());
  } else {
    while (!input.empty()) absl::StrAppend(&data_file, Framed(input.LengthPrefixed()));
    if (index.ParseFromArray(index_bytes.data(), static_cast<int>(index_bytes.size()))) {
      index.set_data_file_bytes(data_file.size());
      index.set_data_file_crc32c(crc32c::Value(data_file.data(), data_file.size()));
      if (index.global_step() >= 0) step = index.global_step();
      index_file = Framed(index.SerializeAsString());
    } else {
      index_file = Framed(index_bytes);
    }
  }

  // A fresh directory per input: ckpt-<step>.index, .data and maybe the state file.
  static int run = 0;
  const std::string dir = absl::StrCat(fuzz::ScratchDir(), "/", run++);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  FUZZ_CHECK(!error, dir);
  const std::string name = CheckpointName(step);
  fuzz::WriteFileOrDie(CheckpointIndexPath(dir, name), index_file);
  fuzz::WriteFileOrDie(CheckpointDataPath(dir, name), data_file);
  if (with_state) fuzz::WriteFileOrDie(dir + "/" + std::string(kCheckpointStateFileName), state_text);

  absl::StatusOr<CheckpointIndex> read_index = ReadCheckpointIndex(dir, name);
  absl::StatusOr<CheckpointContents> contents = ReadCheckpoint(dir, name);
  absl::StatusOr<CheckpointMetadata> metadata = VerifyCheckpoint(dir, name);
  FUZZ_CHECK(contents.ok() == metadata.ok(), "ReadCheckpoint and VerifyCheckpoint disagree");
  if (contents.ok()) {
    FUZZ_CHECK(read_index.ok(), "a checkpoint that reads has an index that reads");
    CheckContents(*contents, *read_index);
    FUZZ_CHECK(contents->metadata.global_step == step, name);
  } else {
    const absl::StatusCode code = contents.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kInvalidArgument ||
                   code == absl::StatusCode::kNotFound,
               contents.status().ToString());
  }
  if (with_state) {
    (void)ReadCheckpointState(dir);
    (void)ListCheckpoints(dir);
    absl::StatusOr<RestoredCheckpoint> restored = RestoreLatest(dir, "");
    if (restored.ok()) CheckContents(restored->contents, *ReadCheckpointIndex(dir, restored->name));
  }
  std::filesystem::remove_all(dir, error);
  FUZZ_CHECK(!error, dir);
  return 0;
}
