#ifndef TESSERA_TOOLS_RECORDS_PROGRESS_H_
#define TESSERA_TOOLS_RECORDS_PROGRESS_H_

// Progress of a tessera_records run: on a terminal, one line rewritten in
// place ("\r") at most once a second; otherwise a plain line every 30 s, for
// batch logs. Each shows images done/total, shards done/total, images/s and
// the ETA. Thread-safe: worker threads report, any of them may print.

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace tessera {

class RecordsProgress {
 public:
  // `out` and `clock` are borrowed and must outlive this object; `out` may be
  // null (no output).
  RecordsProgress(std::ostream* out, bool terminal, Clock* clock, int64_t total_images,
                  int total_shards);

  void ImageDone();
  // A shard finished (written or found complete, with `images` images that
  // no longer need work).
  void ShardDone(int64_t images_not_converted);
  // Prints the last line (and ends the terminal line).
  void Finish();

  // The line as it would print now; for tests.
  std::string Line();

 private:
  void MaybePrint() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string LineLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::ostream* const out_;
  const bool terminal_;
  Clock* const clock_;
  const int64_t total_images_;
  const int total_shards_;
  const absl::Time start_;
  absl::Mutex mu_;
  int64_t images_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t converted_ ABSL_GUARDED_BY(mu_) = 0;  // images_ less those of skipped shards
  int shards_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_print_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_TOOLS_RECORDS_PROGRESS_H_
