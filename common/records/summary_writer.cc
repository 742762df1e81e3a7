#include "common/records/summary_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/records/png.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

constexpr char kFileVersion[] = "brain.Event:2";

std::string Hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

uint8_t ToByte(float v) {
  if (!(v > 0)) return 0;  // also NaN
  if (v >= 1) return 255;
  return static_cast<uint8_t>(std::lround(v * 255.0f));
}

}  // namespace

const std::vector<double>& DefaultHistogramBucketLimits() {
  static const std::vector<double>* const limits = [] {
    std::vector<double> positive;
    for (double v = 1e-12; v < 1e20; v *= 1.1) positive.push_back(v);
    auto* all = new std::vector<double>;
    all->reserve(2 * positive.size() + 3);
    all->push_back(-DBL_MAX);
    for (auto it = positive.rbegin(); it != positive.rend(); ++it) all->push_back(-*it);
    all->push_back(0.0);
    all->insert(all->end(), positive.begin(), positive.end());
    all->push_back(DBL_MAX);
    return all;
  }();
  return *limits;
}

absl::StatusOr<tensorflow::HistogramProto> MakeHistogram(absl::Span<const float> values) {
  const std::vector<double>& limits = DefaultHistogramBucketLimits();
  std::vector<double> counts(limits.size(), 0.0);
  double min = DBL_MAX, max = -DBL_MAX, sum = 0, sum_squares = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram value ", i, " of ", values.size(), " is ", v));
    }
    size_t b = std::upper_bound(limits.begin(), limits.end(), v) - limits.begin();
    if (b == limits.size()) b = limits.size() - 1;
    counts[b] += 1;
    min = std::min(min, v);
    max = std::max(max, v);
    sum += v;
    sum_squares += v * v;
  }
  tensorflow::HistogramProto h;
  h.set_min(values.empty() ? 0 : min);
  h.set_max(values.empty() ? 0 : max);
  h.set_num(static_cast<double>(values.size()));
  h.set_sum(sum);
  h.set_sum_squares(sum_squares);
  for (size_t i = 0; i < limits.size();) {
    double limit = limits[i];
    const double count = counts[i];
    ++i;
    if (count == 0) {  // merge the run of empty buckets starting here
      while (i < limits.size() && counts[i] == 0) limit = limits[i++];
    }
    h.add_bucket_limit(limit);
    h.add_bucket(count);
  }
  return h;
}

absl::StatusOr<tensorflow::Summary::Image> MakeImage(const Tensor& images, int64_t i) {
  if (images.rank() != 4 || (images.dim(3) != 1 && images.dim(3) != 3) || images.dim(1) <= 0 ||
      images.dim(2) <= 0 || images.dim(1) > (1 << 15) || images.dim(2) > (1 << 15)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "images must be [N, H, W, C] with C 1 or 3, got ", ShapeString(images.shape())));
  }
  if (i < 0 || i >= images.dim(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("image ", i, " out of range for ", images.dim(0), " images"));
  }
  const int height = static_cast<int>(images.dim(1));
  const int width = static_cast<int>(images.dim(2));
  const int channels = static_cast<int>(images.dim(3));
  const int64_t n = int64_t{height} * width * channels;
  const float* src = images.data() + i * n;
  std::vector<uint8_t> pixels(n);
  for (int64_t j = 0; j < n; ++j) pixels[j] = ToByte(src[j]);
  ASSIGN_OR_RETURN(std::string png, EncodePng(pixels, height, width, channels));
  tensorflow::Summary::Image image;
  image.set_height(height);
  image.set_width(width);
  image.set_colorspace(channels);
  image.set_encoded_image_string(std::move(png));
  return image;
}

absl::StatusOr<std::unique_ptr<SummaryWriter>> SummaryWriter::Create(const std::string& dir,
                                                                     SummaryWriterOptions options) {
  Clock* clock = options.clock != nullptr ? options.clock : RealClock::Get();
  FileSystem* fs = options.file_system != nullptr ? options.file_system : DefaultFileSystem();
  RETURN_IF_ERROR(fs->CreateDir(dir, "summary directory"));
  std::unique_ptr<SummaryWriter> writer(new SummaryWriter(
      dir, options.hostname.empty() ? Hostname() : options.hostname, clock, fs,
      options.flush_interval));
  {
    absl::MutexLock lock(&writer->mu_);
    RETURN_IF_ERROR(writer->OpenFileLocked());
    RETURN_IF_ERROR(writer->FlushLocked());
  }
  return writer;
}

SummaryWriter::SummaryWriter(std::string dir, std::string hostname, Clock* clock, FileSystem* fs,
                             absl::Duration flush_interval)
    : dir_(std::move(dir)),
      hostname_(std::move(hostname)),
      clock_(clock),
      fs_(fs),
      flush_interval_(flush_interval),
      next_flush_(clock->Now() + flush_interval) {}

SummaryWriter::~SummaryWriter() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  const absl::Status status = CloseLocked();
  if (!status.ok()) LOG(WARNING) << "summaries: " << status.message();
}

std::string SummaryWriter::path() const {
  absl::MutexLock lock(&mu_);
  return path_;
}

absl::Status SummaryWriter::OpenFileLocked() {
  const std::string base = absl::StrCat(dir_, "/events.out.tfevents.",
                                        absl::ToUnixSeconds(clock_->Now()), ".", hostname_);
  std::string path = base;
  for (int n = 1; fs_->FileExists(path); ++n) path = absl::StrCat(base, ".", n);
  ASSIGN_OR_RETURN(std::unique_ptr<TFRecordWriter> file, TFRecordWriter::Create(path, fs_));
  tensorflow::Event version;
  version.set_wall_time(absl::ToDoubleSeconds(clock_->Now() - absl::UnixEpoch()));
  version.set_file_version(kFileVersion);
  const absl::Status status = file->Write(version.SerializeAsString());
  if (!status.ok()) {
    // A disk still full: no empty file left behind for every try.
    file->Close().IgnoreError();
    fs_->DeleteFile(path).IgnoreError();
    return Damaged(status);
  }
  file_ = std::move(file);
  path_ = std::move(path);
  damaged_ = false;
  return absl::OkStatus();
}

absl::Status SummaryWriter::Damaged(absl::Status status) {
  damaged_ = true;
  return status;
}

absl::Status SummaryWriter::AddScalar(absl::string_view tag, double value, int64_t step) {
  const std::pair<std::string, double> scalar(tag, value);
  return AddScalars({&scalar, 1}, step);
}

absl::Status SummaryWriter::AddScalars(absl::Span<const std::pair<std::string, double>> scalars,
                                       int64_t step) {
  tensorflow::Summary summary;
  for (const auto& [tag, value] : scalars) {
    tensorflow::Summary::Value* v = summary.add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  return WriteSummary(std::move(summary), step);
}

absl::Status SummaryWriter::AddHistogram(absl::string_view tag, absl::Span<const float> values,
                                         int64_t step) {
  auto histogram = MakeHistogram(values);
  if (!histogram.ok()) return Annotate(histogram.status(), absl::StrCat("histogram ", tag));
  tensorflow::Summary summary;
  tensorflow::Summary::Value* v = summary.add_value();
  v->set_tag(std::string(tag));
  *v->mutable_histo() = std::move(*histogram);
  return WriteSummary(std::move(summary), step);
}

absl::Status SummaryWriter::AddImages(absl::string_view tag, const Tensor& images, int max_images,
                                      int64_t step) {
  const int64_t n = images.rank() == 0 ? 0 : std::min<int64_t>(images.dim(0), max_images);
  tensorflow::Summary summary;
  for (int64_t i = 0; i < n; ++i) {
    auto image = MakeImage(images, i);
    if (!image.ok()) return Annotate(image.status(), absl::StrCat("image summary ", tag));
    tensorflow::Summary::Value* v = summary.add_value();
    v->set_tag(max_images == 1 ? absl::StrCat(tag, "/image") : absl::StrCat(tag, "/image/", i));
    *v->mutable_image() = std::move(*image);
  }
  if (n == 0) return absl::OkStatus();
  return WriteSummary(std::move(summary), step);
}

absl::Status SummaryWriter::WriteSummary(tensorflow::Summary summary, int64_t step) {
  tensorflow::Event event;
  event.set_step(step);
  *event.mutable_summary() = std::move(summary);
  return WriteEvent(std::move(event));
}

absl::Status SummaryWriter::WriteEvent(tensorflow::Event event) {
  const absl::Time now = clock_->Now();
  if (event.wall_time() == 0) event.set_wall_time(absl::ToDoubleSeconds(now - absl::UnixEpoch()));
  const std::string record = event.SerializeAsString();
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError(absl::StrCat(path_, " is closed"));
  if (damaged_) {
    const std::string damaged = path_;
    if (file_ != nullptr) {
      // What reached the damaged file stays readable up to the fault.
      file_->Close().IgnoreError();
      file_ = nullptr;
    }
    RETURN_IF_ERROR(OpenFileLocked());
    LOG(WARNING) << "summaries: writing on in " << path_ << " after a failed write to "
                 << damaged;
  }
  const absl::Status status = file_->Write(record);
  if (!status.ok()) return Damaged(status);
  if (now >= next_flush_) return FlushLocked();
  return absl::OkStatus();
}

absl::Status SummaryWriter::Flush() {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError(absl::StrCat(path_, " is closed"));
  if (damaged_) return absl::OkStatus();  // the next write starts a new file
  return FlushLocked();
}

absl::Status SummaryWriter::FlushLocked() {
  next_flush_ = clock_->Now() + flush_interval_;
  // After a failed fsync the kernel may have dropped the file's unwritten
  // pages and forgotten the error: only a new file is safe to write on.
  const absl::Status status = file_->Sync();
  return status.ok() ? status : Damaged(status);
}

absl::Status SummaryWriter::Close() {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError(absl::StrCat(path_, " is closed"));
  return CloseLocked();
}

absl::Status SummaryWriter::CloseLocked() {
  closed_ = true;
  std::unique_ptr<TFRecordWriter> file = std::move(file_);
  if (file == nullptr) return absl::OkStatus();
  if (damaged_) return file->Close();  // its error was returned already
  RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

}  // namespace tessera
