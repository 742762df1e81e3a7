#ifndef TESSERA_COMMON_RECORDS_SUMMARY_WRITER_H_
#define TESSERA_COMMON_RECORDS_SUMMARY_WRITER_H_

// TensorBoard event files (docs/summaries.md): a TFRecord file of serialized
// tensorflow.Event protos (protos/event.proto) named
// `events.out.tfevents.<unix seconds>.<hostname>`, whose first event is the
// file version "brain.Event:2". Scalars, histograms (with TensorFlow's
// default buckets) and PNG images, each an event with a Summary.
//
// SummaryWriter is thread-safe: one mutex serializes the writes. The file is
// flushed and fsynced by the first write `flush_interval` or more after the
// previous flush (there is no background thread), by Flush() and by Close().

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/file_system.h"
#include "common/tensor.h"
#include "common/records/tfrecord.h"
#include "protos/event.pb.h"

namespace tessera {

// TensorFlow's default histogram bucket limits: -DBL_MAX, the negated
// exponential limits from -1e20 up to -1e-12, 0, the limits 1e-12 * 1.1^k
// below 1e20, and DBL_MAX; strictly increasing. Computed once; thread-safe.
const std::vector<double>& DefaultHistogramBucketLimits();

// The histogram of `values` over the default buckets, encoded as TensorFlow
// encodes it: bucket i counts values in [limit[i-1], limit[i]); each run of
// empty buckets is merged into one empty bucket ending at the run's last
// limit. INVALID_ARGUMENT for a NaN or infinite value (as TensorFlow's
// histogram summary op).
absl::StatusOr<tensorflow::HistogramProto> MakeHistogram(absl::Span<const float> values);

// Image i of `images` ([N, H, W, C], C 1 (grayscale) or 3 (RGB), floats in
// [0, 1]; values outside are clamped, NaN is 0) as a PNG Summary.Image.
// INVALID_ARGUMENT for a bad shape or index.
absl::StatusOr<tensorflow::Summary::Image> MakeImage(const Tensor& images, int64_t i);

struct SummaryWriterOptions {
  Clock* clock = nullptr;  // borrowed; nullptr = RealClock::Get()
  // Borrowed; must outlive the writer. nullptr = DefaultFileSystem().
  FileSystem* file_system = nullptr;
  absl::Duration flush_interval = absl::Seconds(10);
  std::string hostname;  // for the file name; empty = gethostname()
};

class SummaryWriter {
 public:
  // Creates `dir` (and missing parents) and a new event file in it, and writes
  // the file-version event. If a file of that name exists already (a restart
  // in the same second) a suffix ".1", ".2", ... keeps it. Errors name the
  // directory or file.
  static absl::StatusOr<std::unique_ptr<SummaryWriter>> Create(const std::string& dir,
                                                               SummaryWriterOptions options = {});
  // Closes the file (flushing and fsyncing it); errors are logged.
  ~SummaryWriter();

  // Writes fail with an error naming the event file (e.g. a full disk, a
  // failed fsync); the writer stays open, so the caller may go on. A failed
  // write or fsync may leave part of an event in the file, where readers stop
  // (DATA_LOSS at that offset), so the next write starts a new event file in
  // the same directory (named as by Create), which TensorBoard reads after the
  // damaged one: every event written after the fault is readable.

  // A scalar `tag` (e.g. "loss") at global step `step`.
  absl::Status AddScalar(absl::string_view tag, double value, int64_t step);
  // Several (tag, value) scalars in one event.
  absl::Status AddScalars(absl::Span<const std::pair<std::string, double>> scalars, int64_t step);
  // A histogram of `values`; errors as MakeHistogram, naming `tag`.
  absl::Status AddHistogram(absl::string_view tag, absl::Span<const float> values, int64_t step);
  // The first min(N, max_images) images of `images` (as MakeImage), in one
  // event, tagged as TensorFlow does: "<tag>/image" for one image, else
  // "<tag>/image/0", "<tag>/image/1", ...
  absl::Status AddImages(absl::string_view tag, const Tensor& images, int max_images, int64_t step);
  // Any event; wall_time is set to now when it is 0.
  absl::Status WriteEvent(tensorflow::Event event);

  // Flushes and fsyncs what was written so far.
  absl::Status Flush();
  // Flushes, fsyncs and closes; later writes are FAILED_PRECONDITION.
  absl::Status Close();

  // The path of the event file written now.
  std::string path() const;

 private:
  SummaryWriter(std::string dir, std::string hostname, Clock* clock, FileSystem* fs,
                absl::Duration flush_interval);
  absl::Status WriteSummary(tensorflow::Summary summary, int64_t step);
  // A new event file (its name as Create says) with the file-version event.
  absl::Status OpenFileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A write or fsync failed: `status`, and the next write starts a new file.
  absl::Status Damaged(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CloseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const std::string hostname_;
  Clock* const clock_;
  FileSystem* const fs_;
  const absl::Duration flush_interval_;
  mutable absl::Mutex mu_;
  std::string path_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<TFRecordWriter> file_ ABSL_GUARDED_BY(mu_);  // null once closed
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool damaged_ ABSL_GUARDED_BY(mu_) = false;  // the next write opens a new file
  absl::Time next_flush_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_COMMON_RECORDS_SUMMARY_WRITER_H_
