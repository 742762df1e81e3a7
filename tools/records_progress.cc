#include "tools/records_progress.h"

#include "absl/strings/str_format.h"

namespace tessera {

RecordsProgress::RecordsProgress(std::ostream* out, bool terminal, Clock* clock,
                                 int64_t total_images, int total_shards)
    : out_(out),
      terminal_(terminal),
      clock_(clock),
      total_images_(total_images),
      total_shards_(total_shards),
      start_(clock->Now()),
      last_print_(start_) {}

void RecordsProgress::ImageDone() {
  absl::MutexLock lock(&mu_);
  ++images_;
  ++converted_;
  MaybePrint();
}

void RecordsProgress::ShardDone(int64_t images_not_converted) {
  absl::MutexLock lock(&mu_);
  images_ += images_not_converted;
  ++shards_;
  MaybePrint();
}

void RecordsProgress::Finish() {
  absl::MutexLock lock(&mu_);
  if (out_ == nullptr) return;
  *out_ << (terminal_ ? "\r" : "") << LineLocked() << "\n" << std::flush;
}

std::string RecordsProgress::Line() {
  absl::MutexLock lock(&mu_);
  return LineLocked();
}

void RecordsProgress::MaybePrint() {
  if (out_ == nullptr) return;
  const absl::Time now = clock_->Now();
  if (now - last_print_ < (terminal_ ? absl::Seconds(1) : absl::Seconds(30))) return;
  last_print_ = now;
  if (terminal_) {
    *out_ << "\r" << LineLocked() << "   " << std::flush;
  } else {
    *out_ << LineLocked() << "\n" << std::flush;
  }
}

std::string RecordsProgress::LineLocked() {
  const double seconds = absl::ToDoubleSeconds(clock_->Now() - start_);
  const double rate = seconds > 0 ? converted_ / seconds : 0;
  std::string eta = "?";
  if (rate > 0) {
    const int64_t left = static_cast<int64_t>((total_images_ - images_) / rate);
    eta = absl::StrFormat("%d:%02d:%02d", left / 3600, left / 60 % 60, left % 60);
  }
  return absl::StrFormat("images %d/%d  shards %d/%d  %.1f images/s  ETA %s", images_,
                         total_images_, shards_, total_shards_, rate, eta);
}

}  // namespace tessera
