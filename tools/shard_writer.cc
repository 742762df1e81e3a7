#include "tools/shard_writer.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/records/image_codec.h"
#include "common/records/image_example.h"
#include "common/records/tfrecord.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

// The Example record of `file`, or a reason to skip it (status not OK).
absl::StatusOr<std::string> EncodeImage(const ImageFile& file, const ShardContext& context) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(file.path, "image"));
  ASSIGN_OR_RETURN(ShardImage shard_image,
                   ToShardImage(std::move(bytes), file.path, context.restart_markers));
  ImageExample image;
  image.encoded = std::move(shard_image.jpeg);
  image.height = shard_image.height;
  image.width = shard_image.width;
  image.label = file.label;
  image.synset = file.synset;
  image.filename = file.filename;
  auto text = context.synset_texts->find(file.synset);
  if (text != context.synset_texts->end()) image.text = text->second;
  auto boxes = context.boxes->find(ImageStem(file.filename));
  if (boxes != context.boxes->end()) {
    for (const BoundingBox& box : boxes->second) {
      image.bbox_xmin.push_back(box.xmin);
      image.bbox_ymin.push_back(box.ymin);
      image.bbox_xmax.push_back(box.xmax);
      image.bbox_ymax.push_back(box.ymax);
      image.bbox_label.push_back(file.label);
    }
  }
  return SerializeImageExample(image);
}

absl::StatusOr<ShardResult> WriteTemporary(const std::string& tmp, const ShardJob& job,
                                           const ShardContext& context,
                                           const std::function<void()>& on_image) {
  ASSIGN_OR_RETURN(std::unique_ptr<TFRecordWriter> writer,
                   TFRecordWriter::Create(tmp, context.fs));
  ShardResult result;
  for (const ImageFile* file : job.images) {
    absl::StatusOr<std::string> record = EncodeImage(*file, context);
    if (record.ok()) {
      RETURN_IF_ERROR(writer->Write(*record));
      ++result.records;
    } else if (record.status().code() == absl::StatusCode::kInternal) {
      return record.status();
    } else {
      result.skipped.push_back(std::string(record.status().message()));
    }
    if (on_image) on_image();
  }
  RETURN_IF_ERROR(writer->Sync());
  RETURN_IF_ERROR(writer->Close());
  return result;
}

}  // namespace

absl::StatusOr<ShardResult> WriteShard(const ShardJob& job, const ShardContext& context,
                                       const std::function<void()>& on_image) {
  const std::string tmp = absl::StrCat(job.path, ".tmp");
  absl::StatusOr<ShardResult> result = WriteTemporary(tmp, job, context, on_image);
  int64_t verified = 0;
  absl::Status status = result.status();
  if (status.ok()) status = VerifyShard(tmp, job, context.num_classes, &verified);
  if (status.ok() && verified != result->records) {
    status = absl::DataLossError(absl::StrCat(tmp, ": read back ", verified,
                                              " records, wrote ", result->records));
  }
  if (status.ok()) status = context.fs->RenameFile(tmp, job.path);
  if (!status.ok()) {
    context.fs->DeleteFile(tmp).IgnoreError();
    return status;
  }
  return result;
}

absl::Status VerifyShard(const std::string& path, const ShardJob& job, int64_t num_classes,
                         int64_t* records, std::vector<const ImageFile*>* missing) {
  ASSIGN_OR_RETURN(std::unique_ptr<TFRecordReader> reader, TFRecordReader::Open(path));
  size_t next_image = 0;  // records match job.images in order, some left out
  int64_t count = 0;
  std::string record;
  while (true) {
    const uint64_t offset = reader->offset();
    ASSIGN_OR_RETURN(bool more, reader->ReadRecord(&record));
    if (!more) break;
    const std::string where = absl::StrCat(path, " record ", count, " at offset ", offset);
    absl::StatusOr<ImageExample> image = ParseImageExample(record);
    if (!image.ok()) return Annotate(image.status(), where);
    RETURN_IF_ERROR(Annotate(CheckLabelInRange(*image, num_classes), where));
    while (next_image < job.images.size() &&
           (job.images[next_image]->filename != image->filename ||
            job.images[next_image]->label != image->label)) {
      if (missing != nullptr) missing->push_back(job.images[next_image]);
      ++next_image;
    }
    if (next_image == job.images.size()) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, ": image ", image->filename, " (label ", image->label,
                       ") is not the next image this shard should hold"));
    }
    ++next_image;
    ++count;
  }
  if (missing != nullptr) {
    for (; next_image < job.images.size(); ++next_image) {
      missing->push_back(job.images[next_image]);
    }
  }
  if (records != nullptr) *records = count;
  return absl::OkStatus();
}

absl::Status CheckExistingShard(const ShardJob& job, const ShardContext& context) {
  if (!context.fs->FileExists(job.path)) {
    return absl::NotFoundError(absl::StrCat(job.path, " does not exist"));
  }
  std::vector<const ImageFile*> missing;
  RETURN_IF_ERROR(VerifyShard(job.path, job, context.num_classes, nullptr, &missing));
  for (const ImageFile* file : missing) {
    if (EncodeImage(*file, context).ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(job.path, " lacks image ", file->path, ", which is readable"));
    }
  }
  return absl::OkStatus();
}

}  // namespace tessera
