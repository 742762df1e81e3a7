#ifndef TESSERA_TOOLS_SHARD_WRITER_H_
#define TESSERA_TOOLS_SHARD_WRITER_H_

// Writes one image shard of tessera_records and checks shards on disk.
//
// A shard is written to "<path>.tmp", fsynced, read back in full (every
// record's CRC, every record an Example of the expected images), and only then
// renamed to <path>; so <path> exists only complete and verified, and a killed
// run leaves at most a .tmp file that the next run overwrites.
// Free functions; thread-safe for different shards.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/file_system.h"
#include "tools/bounding_boxes.h"
#include "tools/image_folders.h"

namespace tessera {

// What every shard of a run shares. Borrowed pointers; all must outlive the
// calls that use them.
struct ShardContext {
  const std::map<std::string, std::string>* synset_texts = nullptr;  // may be empty
  const BoxIndex* boxes = nullptr;                                   // may be empty
  int64_t num_classes = 0;
  FileSystem* fs = nullptr;
  // ToShardImage's restart_markers: each JPEG rewritten losslessly with restart
  // markers (common/records/jpeg_restarts.h) so that the training reader can
  // decode a crop's part alone.
  bool restart_markers = true;
};

struct ShardJob {
  std::string path;                         // final file name
  std::vector<const ImageFile*> images;     // in shard order; borrowed
};

struct ShardResult {
  int64_t records = 0;
  // "<file>: <reason>" for each image left out (corrupt, not an image, unreadable).
  std::vector<std::string> skipped;
};

// Writes `job` as described above. An image that cannot be read or decoded is
// skipped and listed; a write, verify or rename failure is an error naming the
// file (the .tmp file is then removed). `on_image` (may be empty) is called
// after each image, from this thread.
absl::StatusOr<ShardResult> WriteShard(const ShardJob& job, const ShardContext& context,
                                       const std::function<void()>& on_image);

// OK when the file at `path` is a complete shard of `job`: every record intact
// (CRC), an Example whose (image/filename, image/class/label) pairs are the
// job's images in order, with at most the job's images (some may have been
// skipped as corrupt), and labels in [1, num_classes]. Otherwise the error
// says what is wrong, naming the file and the record's offset.
// `*records` (may be null) gets the record count, `*missing` (may be null)
// the job's images the file does not hold.
absl::Status VerifyShard(const std::string& path, const ShardJob& job, int64_t num_classes,
                         int64_t* records = nullptr,
                         std::vector<const ImageFile*>* missing = nullptr);

// OK when `job.path` exists, passes VerifyShard, and every image it lacks
// still fails to encode (so a rewrite would give the same shard). NOT_FOUND
// when there is no file; otherwise the reason to rewrite it.
absl::Status CheckExistingShard(const ShardJob& job, const ShardContext& context);

}  // namespace tessera

#endif  // TESSERA_TOOLS_SHARD_WRITER_H_
