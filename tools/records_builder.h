#ifndef TESSERA_TOOLS_RECORDS_BUILDER_H_
#define TESSERA_TOOLS_RECORDS_BUILDER_H_

// tessera_records' work: ImageNet-layout folders into TFRecord shards of
// tf.train.Example, as TensorFlow's build_imagenet_data.py, for one run (all
// shards, a --shard_range, or one task of a job array). See docs/data.md.
//
// Labels: 1 + the line number in the labels file, or 1 + the position among
// the sorted train subfolders; the mapping is written to
// <output_directory>/labels.txt (one synset per line, usable as
// --labels_file), and a run whose mapping differs from an existing labels.txt
// fails rather than mix label orders. Images of each split are sorted, then
// shuffled with `seed`, then cut into near-equal contiguous shards; so the same
// input and seed give byte-identical shards, however the work is split. A shard
// that exists and verifies (tools/shard_writer.h) is left alone.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/file_system.h"

namespace tessera {

struct RecordsOptions {
  std::string train_directory;       // may be empty: no train shards
  std::string validation_directory;  // may be empty: no validation shards
  std::string output_directory;
  std::string labels_file;             // empty: the train directory's subfolders
  std::string imagenet_metadata_file;  // empty: image/class/text is ""
  std::string bounding_box_file;       // empty: no boxes
  int train_shards = 1024;
  int validation_shards = 128;
  int num_threads = 1;
  uint64_t seed = 12345;
  std::string shard_range;  // "A-B"; empty: see array_size
  int array_size = 0;       // > 0: this run is task array_index of array_size
  int array_index = -1;
  // Each JPEG rewritten with restart markers (common/records/jpeg_restarts.h);
  // false: stored as ToShardImage gives it.
  bool restart_markers = true;
  FileSystem* fs = nullptr;       // borrowed; null: DefaultFileSystem()
  Clock* clock = nullptr;         // borrowed; null: RealClock::Get()
  std::ostream* log = nullptr;    // progress and notes; borrowed; may be null
  bool log_is_terminal = false;   // progress as a "\r" line
};

struct RecordsSummary {
  int shards_total = 0;        // over both splits
  int shards_in_run = 0;       // this run's range
  int shards_written = 0;
  int shards_already_complete = 0;
  int64_t images_written = 0;
  // "<file>: <reason>" for every image left out, in shard order.
  std::vector<std::string> skipped_images;
};

// Errors (nothing half-written is left under a final shard name): a bad flag
// value, a missing folder, an unknown or empty synset, a bad labels, metadata
// or box file (each naming the file and line), a label mapping that differs
// from an existing labels.txt, or a failure to write, verify or rename a shard
// (naming it). Corrupt and non-image files are not errors: they are skipped and
// listed in the summary.
absl::StatusOr<RecordsSummary> BuildRecords(const RecordsOptions& options);

// A few lines for the end of the run: counts, then each skipped file.
std::string FormatSummary(const RecordsSummary& summary);

}  // namespace tessera

#endif  // TESSERA_TOOLS_RECORDS_BUILDER_H_
