// Tessera's image input pipeline as training runs it, timed: TFRecord shards
// (as tools/tessera_records writes them) -> ShardReader -> BatchPipeline with
// `--decode_threads` decode threads -> batches of `--batch_size` examples.
// One run is one figure; bench/jpeg_pipeline.sh runs it in interleaved rounds
// with its references (docs/benchmarks.md).
//
//   --decoder=augment      ImageExampleDecoder, training: TF's distorted-box
//                          crop, flip, resize to --size x --size, normalize
//                          (docs/jpeg_augmentation.md): the real pipeline
//   --decoder=full_decode  the same records through the same reader and
//                          pipeline, but each image fully decoded to RGB (the
//                          same libjpeg, no DCT scaling, no crop, no resize)
//                          and nothing else: what decoding every pixel of the
//                          same stream of files costs
//
// The first --warmup_batches batches are a warm-up: by the third the threads
// run and the pipeline's batch buffers (the two in the making and the one the
// caller holds, 19 MB each at 224x224) are allocated and faulted in. The clock
// runs from the warm-up's end until --images more images have arrived. Pin with
// taskset from outside (one core: taskset -c 0 ... --decode_threads=1).
// Prints one line, then images_per_sec=<figure>.
//
// --extract_to=DIR writes every record's image/encoded of the shards as
// DIR/train/<synset>/<filename> (the JPEGs as the shards hold them, for
// tjbench) and times nothing.
//
//   bazel-bin/bench/jpeg_pipeline_tessera --shards='/tmp/shards/train-*'
//       [--decoder=augment --decode_threads=1 --batch_size=32 --images=1280]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "common/daemon_setup.h"
#include "common/dataset.h"
#include "common/records/image_example.h"
#include "common/records/tfrecord.h"
#include "data/batch_pipeline.h"
#include "data/image_example_decoder.h"
#include "data/jpeg_decoder.h"
#include "data/shard_reader.h"

ABSL_FLAG(std::string, shards, "", "glob pattern of the TFRecord shards (required)");
ABSL_FLAG(std::string, decoder, "augment", "augment (the real pipeline) or full_decode");
ABSL_FLAG(int, decode_threads, 1, "BatchPipeline decode threads");
ABSL_FLAG(int, batch_size, 32, "examples per batch");
ABSL_FLAG(int, images, 1280, "images timed after the warm-up (whole batches)");
ABSL_FLAG(int, warmup_batches, 3, "batches taken before the clock starts");
ABSL_FLAG(int, size, 224, "output height and width (augment)");
ABSL_FLAG(int, shuffle_buffer, 1024, "ShardReader shuffle buffer, records");
ABSL_FLAG(int, cycle_length, 4, "ShardReader shards open at once");
ABSL_FLAG(int, num_classes, 1000, "classes (labels must lie in [1, num_classes])");
ABSL_FLAG(uint64_t, seed, 1, "reader and augmentation seed");
ABSL_FLAG(std::string, extract_to, "", "write the shards' JPEGs under this folder instead");

namespace tessera {
namespace {

// The reference decoder: parses the Example exactly as ImageExampleDecoder
// does, then decodes the whole JPEG to RGB at full size. Its one output float
// is the decoded image's first byte (so the decode cannot be skipped).
// Not thread-safe: one per decode thread.
class FullDecodeExampleDecoder final : public ExampleDecoder {
 public:
  FullDecodeExampleDecoder() : decoder_(FullOptions()) {}

  absl::Status Decode(absl::string_view record, uint64_t seed, absl::Span<float> input,
                      int32_t* label) override {
    absl::StatusOr<ImageExample> image = ParseImageExample(record);
    if (!image.ok()) return image.status();
    auto whole = [](const JpegInfo& i) -> absl::StatusOr<CropWindow> {
      return CropWindow{0, 0, i.height, i.width};
    };
    absl::Status decoded =
        decoder_.DecodeCrop(image->encoded, image->filename, whole, 1, 1, &region_);
    if (!decoded.ok()) return decoded;
    input[0] = region_.pixels.empty() ? 0.0f : region_.pixels[0];
    *label = static_cast<int32_t>(image->label - 1);
    return absl::OkStatus();
  }

 private:
  static JpegDecodeOptions FullOptions() {
    JpegDecodeOptions options;
    options.dct_scaling = false;
    options.partial_decode = false;
    return options;
  }

  JpegDecoder decoder_;
  DecodedRegion region_;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "jpeg_pipeline: %s\n", message.c_str());
  return 1;
}

// --extract_to: every record's JPEG as DIR/train/<synset>/<filename>.
int Extract(const std::vector<std::string>& shards, const std::string& dir) {
  namespace fs = std::filesystem;
  int64_t written = 0;
  for (const std::string& shard : shards) {
    absl::StatusOr<std::unique_ptr<TFRecordReader>> reader = TFRecordReader::Open(shard);
    if (!reader.ok()) return Fail(std::string(reader.status().message()));
    std::string record;
    while (true) {
      absl::StatusOr<bool> more = (*reader)->ReadRecord(&record);
      if (!more.ok()) return Fail(std::string(more.status().message()));
      if (!*more) break;
      absl::StatusOr<ImageExample> image = ParseImageExample(record);
      if (!image.ok()) return Fail(std::string(image.status().message()));
      const fs::path folder = fs::path(dir) / "train" / image->synset;
      std::error_code ec;
      fs::create_directories(folder, ec);
      std::ofstream out(folder / image->filename, std::ios::binary);
      out << image->encoded;
      if (ec || !out.good()) return Fail("cannot write " + (folder / image->filename).string());
      ++written;
    }
  }
  std::printf("jpeg_pipeline: extracted %lld images from %zu shards to %s\n",
              static_cast<long long>(written), shards.size(), dir.c_str());
  return 0;
}

int Run() {
  const std::string pattern = absl::GetFlag(FLAGS_shards);
  const std::string which = absl::GetFlag(FLAGS_decoder);
  const int size = absl::GetFlag(FLAGS_size);
  const int batch_size = absl::GetFlag(FLAGS_batch_size);
  const int images = absl::GetFlag(FLAGS_images);
  if (pattern.empty()) return Fail("--shards is required");
  if (which != "augment" && which != "full_decode") {
    return Fail("--decoder must be augment or full_decode, got " + which);
  }
  if (batch_size < 1 || images < 1 || size < 1 || absl::GetFlag(FLAGS_warmup_batches) < 0) {
    return Fail("--batch_size, --images and --size must be positive, --warmup_batches >= 0");
  }

  ShardReaderOptions reader_options;
  reader_options.seed = absl::GetFlag(FLAGS_seed);
  reader_options.cycle_length = absl::GetFlag(FLAGS_cycle_length);
  reader_options.shuffle_buffer = absl::GetFlag(FLAGS_shuffle_buffer);
  absl::StatusOr<std::unique_ptr<ShardReader>> reader =
      ShardReader::Open(pattern, reader_options);
  if (!reader.ok()) return Fail(std::string(reader.status().message()));
  const size_t num_shards = (*reader)->shards().size();
  if (!absl::GetFlag(FLAGS_extract_to).empty()) {
    return Extract((*reader)->shards(), absl::GetFlag(FLAGS_extract_to));
  }

  ImageExampleDecoderOptions decoder_options;
  decoder_options.augment.out_height = decoder_options.augment.out_width = size;
  decoder_options.num_classes = absl::GetFlag(FLAGS_num_classes);
  // Checked once here, so the factory below cannot fail.
  absl::StatusOr<std::unique_ptr<ImageExampleDecoder>> check =
      ImageExampleDecoder::Create(decoder_options);
  if (!check.ok()) return Fail(std::string(check.status().message()));
  const bool augment = which == "augment";
  BatchPipeline::DecoderFactory factory = [&]() -> std::unique_ptr<ExampleDecoder> {
    if (!augment) return std::make_unique<FullDecodeExampleDecoder>();
    return std::move(*ImageExampleDecoder::Create(decoder_options));
  };

  BatchPipelineOptions options;
  options.batch_size = batch_size;
  options.example_shape = augment ? Shape{size, size, 3} : Shape{1};
  options.decode_threads = absl::GetFlag(FLAGS_decode_threads);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.skip_bad_records = false;  // a bad record in a benchmark is a bug
  absl::StatusOr<std::unique_ptr<BatchPipeline>> pipeline =
      BatchPipeline::Create(std::move(*reader), factory, options);
  if (!pipeline.ok()) return Fail(std::string(pipeline.status().message()));

  Dataset batch;
  auto next = [&]() -> bool {
    absl::StatusOr<bool> more = (*pipeline)->Next(&batch);
    if (!more.ok()) {
      Fail(std::string(more.status().message()));
      return false;
    }
    if (!*more) Fail("the shards ran out (they repeat; is every record bad?)");
    return *more;
  };
  for (int i = 0; i < absl::GetFlag(FLAGS_warmup_batches); ++i) {
    if (!next()) return 1;
  }
  const absl::Time start = absl::Now();
  int64_t timed = 0;
  while (timed < images) {
    if (!next()) return 1;
    timed += static_cast<int64_t>(batch.labels.size());
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = timed / seconds;
  std::printf("jpeg_pipeline: decoder=%s decode_threads=%d batch=%d, %zu shards: %lld images "
              "in %.2f s after %d warm-up batches, %.0f images/s\n",
              which.c_str(), options.decode_threads, batch_size, num_shards,
              static_cast<long long>(timed), seconds, absl::GetFlag(FLAGS_warmup_batches), rate);
  std::printf("images_per_sec=%.1f\n", rate);
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  // The worker's settings (common/daemon_setup.h): the pipeline runs in the
  // worker, with its malloc arena and thresholds.
  const tessera::DaemonSetup setup = tessera::SetUpDaemon(std::getenv);
  for (const auto& [name, value] : setup.environment) setenv(name.c_str(), value.c_str(), 0);
  absl::ParseCommandLine(argc, argv);
  for (const std::string& line : setup.LogLines()) std::printf("%s\n", line.c_str());
  return tessera::Run();
}
