#include "tools/records_builder.h"

#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "tools/bounding_boxes.h"
#include "tools/image_folders.h"
#include "tools/records_progress.h"
#include "tools/shard_plan.h"
#include "tools/shard_writer.h"

namespace tessera {
namespace {

struct Split {
  std::string name;
  int num_shards = 0;
  std::vector<ImageFile> images;  // shuffled
};

absl::Status CheckOptions(const RecordsOptions& o) {
  if (o.train_directory.empty() && o.validation_directory.empty()) {
    return absl::InvalidArgumentError(
        "give --train_directory, --validation_directory or both");
  }
  if (o.output_directory.empty()) {
    return absl::InvalidArgumentError("--output_directory is required");
  }
  if (o.train_shards < 1 || o.validation_shards < 1 || o.train_shards > 99999 ||
      o.validation_shards > 99999) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--train_shards=", o.train_shards, " and --validation_shards=", o.validation_shards,
        " must be in [1, 99999]"));
  }
  if (o.num_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--num_threads=", o.num_threads, " must be at least 1"));
  }
  if (o.labels_file.empty() && o.train_directory.empty()) {
    return absl::InvalidArgumentError(
        "--labels_file is required without --train_directory (labels come from its "
        "subfolders)");
  }
  return absl::OkStatus();
}

// labels.txt beside the shards: written if absent, compared if present.
absl::Status WriteLabelMapping(const RecordsOptions& o, FileSystem* fs,
                               const SynsetLabels& labels) {
  const std::string path = JoinPath(o.output_directory, "labels.txt");
  const std::string contents = LabelsFileContents(labels);
  if (fs->FileExists(path)) {
    ASSIGN_OR_RETURN(std::string existing, ReadFileToString(path, "label mapping"));
    if (existing == contents) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        path, " holds a different label mapping than the ", labels.source,
        ": shards in one directory must share one mapping (use another "
        "--output_directory, or pass that file as --labels_file)"));
  }
  return WriteFileAtomically(fs, path, contents);
}

absl::StatusOr<ShardRange> RunRange(const RecordsOptions& o, int total) {
  if (!o.shard_range.empty()) return ParseShardRange(o.shard_range, total);
  if (o.array_size > 0) return ArrayTaskShards(o.array_index, o.array_size, total);
  return ShardRange{0, total};
}

// Shard jobs of this run, in global shard order.
std::vector<ShardJob> PlanJobs(const RecordsOptions& o, const std::vector<Split>& splits,
                               ShardRange range) {
  std::vector<ShardJob> jobs;
  int global = 0;
  for (const Split& split : splits) {
    for (int s = 0; s < split.num_shards; ++s, ++global) {
      if (!range.Contains(global)) continue;
      ShardJob job;
      job.path = JoinPath(o.output_directory, ShardName(split.name, s, split.num_shards));
      const ImageSpan span = ShardImages(s, split.num_shards, split.images.size());
      for (int64_t i = span.begin; i < span.end; ++i) job.images.push_back(&split.images[i]);
      jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

// Runs the jobs on `threads` threads; stops at the first error.
absl::Status RunJobs(const std::vector<ShardJob>& jobs, const ShardContext& context,
                     int threads, const RecordsOptions& o, RecordsProgress& progress,
                     RecordsSummary& summary) {
  std::vector<ShardResult> results(jobs.size());
  // One byte per job, not std::vector<bool>: threads set the flags of
  // different jobs at once, and a bool vector packs 64 jobs into one word.
  std::vector<char> written(jobs.size(), 0);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  absl::Status first_error;
  auto work = [&] {
    for (size_t j = next++; j < jobs.size() && !failed; j = next++) {
      const ShardJob& job = jobs[j];
      absl::Status existing = CheckExistingShard(job, context);
      if (existing.ok()) {
        context.fs->DeleteFile(job.path + ".tmp").IgnoreError();
        progress.ShardDone(job.images.size());
        continue;
      }
      if (!absl::IsNotFound(existing) && o.log != nullptr) {
        absl::MutexLock lock(&mu);
        *o.log << (o.log_is_terminal ? "\n" : "") << "rewriting " << job.path << ": "
               << existing.message() << "\n";
      }
      absl::StatusOr<ShardResult> result =
          WriteShard(job, context, [&progress] { progress.ImageDone(); });
      if (!result.ok()) {
        absl::MutexLock lock(&mu);
        if (first_error.ok()) first_error = result.status();
        failed = true;
        return;
      }
      results[j] = *std::move(result);
      written[j] = 1;
      progress.ShardDone(0);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  RETURN_IF_ERROR(first_error);
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (!written[j]) {
      ++summary.shards_already_complete;
      continue;
    }
    ++summary.shards_written;
    summary.images_written += results[j].records;
    for (std::string& s : results[j].skipped) summary.skipped_images.push_back(std::move(s));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecordsSummary> BuildRecords(const RecordsOptions& o) {
  RETURN_IF_ERROR(CheckOptions(o));
  FileSystem* fs = o.fs != nullptr ? o.fs : DefaultFileSystem();
  Clock* clock = o.clock != nullptr ? o.clock : RealClock::Get();

  SynsetLabels labels;
  if (!o.labels_file.empty()) {
    ASSIGN_OR_RETURN(labels, ReadLabelsFile(o.labels_file));
  } else {
    ASSIGN_OR_RETURN(labels, LabelsFromSubfolders(o.train_directory));
  }
  std::map<std::string, std::string> texts;
  if (!o.imagenet_metadata_file.empty()) {
    ASSIGN_OR_RETURN(texts, ReadSynsetTexts(o.imagenet_metadata_file));
    for (const std::string& synset : labels.synsets) {
      if (texts.count(synset) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("imagenet metadata file ",
                                                       o.imagenet_metadata_file,
                                                       " has no text for synset ", synset));
      }
    }
  }
  BoxIndex boxes;
  if (!o.bounding_box_file.empty()) {
    ASSIGN_OR_RETURN(boxes, ReadBoundingBoxes(o.bounding_box_file));
  }

  std::vector<Split> splits;
  if (!o.train_directory.empty()) {
    Split split{"train", o.train_shards, {}};
    ASSIGN_OR_RETURN(split.images, ListImages(o.train_directory, labels,
                                              /*every_synset_has_a_folder=*/true, "train"));
    splits.push_back(std::move(split));
  }
  if (!o.validation_directory.empty()) {
    Split split{"validation", o.validation_shards, {}};
    ASSIGN_OR_RETURN(split.images,
                     ListImages(o.validation_directory, labels, false, "validation"));
    splits.push_back(std::move(split));
  }
  // Each split gets its own stream of the seed, so adding validation never
  // changes the train shards.
  for (size_t i = 0; i < splits.size(); ++i) {
    ShuffleImages(o.seed + (splits[i].name == "train" ? 0 : 1), &splits[i].images);
  }

  RecordsSummary summary;
  for (const Split& split : splits) summary.shards_total += split.num_shards;
  ASSIGN_OR_RETURN(ShardRange range, RunRange(o, summary.shards_total));
  summary.shards_in_run = range.end - range.begin;

  RETURN_IF_ERROR(fs->CreateDir(o.output_directory, "output directory"));
  RETURN_IF_ERROR(WriteLabelMapping(o, fs, labels));

  const std::vector<ShardJob> jobs = PlanJobs(o, splits, range);
  int64_t total_images = 0;
  for (const ShardJob& job : jobs) total_images += job.images.size();
  RecordsProgress progress(o.log, o.log_is_terminal, clock, total_images,
                           static_cast<int>(jobs.size()));
  ShardContext context{&texts, &boxes, static_cast<int64_t>(labels.synsets.size()), fs,
                       o.restart_markers};
  RETURN_IF_ERROR(RunJobs(jobs, context, o.num_threads, o, progress, summary));
  progress.Finish();
  RETURN_IF_ERROR(fs->SyncDir(o.output_directory));
  return summary;
}

std::string FormatSummary(const RecordsSummary& s) {
  std::string out = absl::StrCat(
      "shards: ", s.shards_written, " written, ", s.shards_already_complete,
      " already complete (of ", s.shards_in_run, " in this run, ", s.shards_total,
      " in all); images written: ", s.images_written, "; images skipped: ",
      s.skipped_images.size(), "\n");
  for (const std::string& skipped : s.skipped_images) {
    absl::StrAppend(&out, "  skipped ", skipped, "\n");
  }
  return out;
}

}  // namespace tessera
