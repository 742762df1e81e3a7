// tessera_records: ImageNet-layout JPEG folders into TFRecord shards of
// tf.train.Example, with the flags of TensorFlow's build_imagenet_data.py.
// See docs/data.md. Reads the job-array index from the environment here and
// nowhere else.

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "tools/records_builder.h"

ABSL_FLAG(std::string, train_directory, "", "training images: <dir>/<synset>/<file>");
ABSL_FLAG(std::string, validation_directory, "", "validation images: <dir>/<synset>/<file>");
ABSL_FLAG(std::string, output_directory, "", "where the shards and labels.txt go");
ABSL_FLAG(std::string, labels_file, "",
          "synsets, one per line; label = 1 + line number (default: sorted train subfolders)");
ABSL_FLAG(std::string, imagenet_metadata_file, "", "<synset><TAB><text> per line");
ABSL_FLAG(std::string, bounding_box_file, "",
          "ILSVRC XML directory or file, or the CSV of TF's process_bounding_boxes.py");
ABSL_FLAG(int, train_shards, 1024, "number of train shards");
ABSL_FLAG(int, validation_shards, 128, "number of validation shards");
ABSL_FLAG(int, num_threads, 8, "threads converting shards in this process");
ABSL_FLAG(uint64_t, seed, 12345, "shuffle seed; the same seed gives the same shards");
ABSL_FLAG(std::string, shard_range, "",
          "A-B: write only global shards A..B (train shards, then validation)");
ABSL_FLAG(int, array_size, 0,
          "number of job-array tasks; the task index comes from PBS_ARRAY_INDEX, "
          "PBS_ARRAYID or SLURM_ARRAY_TASK_ID (or --array_index)");
ABSL_FLAG(int, array_index, -1, "this task's 0-based array index (default: environment)");
ABSL_FLAG(bool, restart_markers, true,
          "store each JPEG rewritten losslessly with restart markers (the same pixels; "
          "Tessera's reader then decodes only a crop's part); false: byte for byte");

namespace {

// The first job-array index the batch system set, or -1.
int ArrayIndexFromEnvironment() {
  for (const char* name : {"PBS_ARRAY_INDEX", "PBS_ARRAYID", "SLURM_ARRAY_TASK_ID"}) {
    const char* value = std::getenv(name);
    int index = -1;
    if (value != nullptr && absl::SimpleAtoi(value, &index)) return index;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "tessera_records --train_directory=DIR --validation_directory=DIR "
      "--output_directory=DIR [--labels_file= --shard_range=A-B | --array_size=N ...]");
  absl::ParseCommandLine(argc, argv);
  tessera::RecordsOptions options;
  options.train_directory = absl::GetFlag(FLAGS_train_directory);
  options.validation_directory = absl::GetFlag(FLAGS_validation_directory);
  options.output_directory = absl::GetFlag(FLAGS_output_directory);
  options.labels_file = absl::GetFlag(FLAGS_labels_file);
  options.imagenet_metadata_file = absl::GetFlag(FLAGS_imagenet_metadata_file);
  options.bounding_box_file = absl::GetFlag(FLAGS_bounding_box_file);
  options.train_shards = absl::GetFlag(FLAGS_train_shards);
  options.validation_shards = absl::GetFlag(FLAGS_validation_shards);
  options.num_threads = absl::GetFlag(FLAGS_num_threads);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.shard_range = absl::GetFlag(FLAGS_shard_range);
  options.array_size = absl::GetFlag(FLAGS_array_size);
  options.array_index = absl::GetFlag(FLAGS_array_index);
  options.restart_markers = absl::GetFlag(FLAGS_restart_markers);
  if (options.array_index < 0) options.array_index = ArrayIndexFromEnvironment();
  if (options.shard_range.empty() && options.array_size == 0 && options.array_index >= 0) {
    std::cerr << "tessera_records: running as array task " << options.array_index
              << " without --array_size: every task would write every shard\n";
    return 2;
  }
  options.log = &std::cerr;
  options.log_is_terminal = isatty(STDERR_FILENO) != 0;

  absl::StatusOr<tessera::RecordsSummary> summary = tessera::BuildRecords(options);
  if (!summary.ok()) {
    std::cerr << "tessera_records: " << summary.status().message() << "\n";
    return 1;
  }
  std::cout << tessera::FormatSummary(*summary);
  return 0;
}
