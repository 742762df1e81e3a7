// How fast does data/image_augment turn ImageNet-sized JPEGs into 224 x 224
// training inputs on one core, against a plain full decode of the same files with
// the same libjpeg (no DCT scaling, no crop: what every pixel costs)?
//
// The files: --images_dir (every *.jpg / *.jpeg in it), or, by default, a set made
// in a temporary directory from the photographs Debian ships (mate-backgrounds in
// /usr/share/backgrounds, python3-skimage's data folder): each photo is resized so
// its shorter side is 375-560 pixels, cut into 500 x 375 windows at random
// places, re-encoded at quality 90 with 4:2:0 chroma (ImageNet's typical size and
// quality). Each file is also rewritten as tessera_records stores it in a shard
// (common/records/jpeg_restarts.h: the same coefficients, restart markers every
// 64 pixels, optimized Huffman tables), and every figure is measured on both forms
// in this run, on one thread, in interleaved rounds (see Measure):
//   full decode       DecodeCrop of the whole image at 1/1; the reference is the
//                     faster of the two forms
//   augment           ImageAugmenter::Train: TF crop, DCT-scaled partial decode
//                     (on the records' form: only the restart intervals the crop
//                     needs), resize, flip, normalize (accurate DCT, fancy upsampling)
//   augment, fast     the same with fast DCT and fast upsampling
//
//   bazel run -c opt //bench:jpeg_decode [-- --images_dir=DIR --num_images=400
//       --seconds=2]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_system.h"
#include "common/file_util.h"
#include "common/records/jpeg_restarts.h"
#include "data/image_augment.h"
#include "data/image_resizer.h"
#include "data/jpeg_decoder.h"
#include "data/jpeg_encoder.h"

ABSL_FLAG(std::string, images_dir, "", "JPEG files to use instead of the made set");
ABSL_FLAG(int, num_images, 400, "size of the made set");
ABSL_FLAG(double, seconds, 2.0, "measuring time per figure");
ABSL_FLAG(int, size, 224, "output height and width");
ABSL_FLAG(bool, keep_images, false, "keep the made set's directory (printed)");

namespace tessera {
namespace {

namespace fs = std::filesystem;

const char* const kPhotoDirs[] = {"/usr/share/backgrounds",
                                  "/usr/lib/python3/dist-packages/skimage/data"};

bool IsJpegName(const fs::path& p) {
  const std::string ext = p.extension().string();
  return absl::EqualsIgnoreCase(ext, ".jpg") || absl::EqualsIgnoreCase(ext, ".jpeg");
}

bool ReadFile(const fs::path& path, std::string* bytes) {
  absl::StatusOr<std::string> read = ReadFileToString(path.string(), "JPEG file");
  if (!read.ok()) return false;
  *bytes = std::move(*read);
  return true;
}

// A scratch file: no fsync (the set is remade on every run).
absl::Status WriteScratchFile(const std::string& path, absl::string_view bytes) {
  absl::StatusOr<std::unique_ptr<WritableFile>> file =
      DefaultFileSystem()->NewWritableFile(path);
  if (!file.ok()) return file.status();
  absl::Status status = (*file)->Append(bytes);
  absl::Status closed = (*file)->Close();
  return status.ok() ? closed : status;
}

std::vector<fs::path> ListJpegs(const std::string& dir, bool recursive) {
  std::vector<fs::path> paths;
  std::error_code ec;
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && IsJpegName(it->path())) paths.push_back(it->path());
    }
  } else {
    for (auto it = fs::directory_iterator(dir, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && IsJpegName(it->path())) paths.push_back(it->path());
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Makes the 500 x 375 set in `dir` from Debian's photos; returns the photo count.
int MakePhotoSet(const fs::path& dir, int count, std::vector<std::string>* jpegs) {
  std::vector<fs::path> photos;
  for (const char* d : kPhotoDirs) {
    for (const fs::path& p : ListJpegs(d, true)) photos.push_back(p);
  }
  JpegDecodeOptions full_options;
  full_options.dct_scaling = false;
  full_options.partial_decode = false;
  JpegDecoder decoder(full_options);
  ImageResizer resizer;
  std::mt19937_64 rng(1);
  DecodedRegion photo;
  std::vector<float> resized;
  std::vector<uint8_t> window(500 * 375 * 3);
  const float one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  int used = 0;
  for (const fs::path& path : photos) {
    std::string bytes;
    auto whole = [](const JpegInfo& i) -> absl::StatusOr<CropWindow> {
      return CropWindow{0, 0, i.height, i.width};
    };
    if (!ReadFile(path, &bytes) ||
        !decoder.DecodeCrop(bytes, path.string(), whole, 1, 1, &photo).ok()) {
      continue;  // skimage ships truncated.jpg on purpose
    }
    const double shorter = std::min(photo.height, photo.width);
    if (shorter < 375) continue;
    ++used;
    const int per_photo = std::max(1, count / static_cast<int>(photos.size()) + 1);
    for (int k = 0; k < per_photo && static_cast<int>(jpegs->size()) < count; ++k) {
      const double target = 375 + 185 * (rng() % 1000) / 1000.0;
      const double s = std::min(1.0, target / shorter);
      const int h = std::max(375, static_cast<int>(photo.height * s));
      const int w = std::max(500, static_cast<int>(photo.width * s));
      resized.resize(static_cast<size_t>(h) * w * 3);
      resizer.Resize(photo.pixels.data(), photo.height, photo.width, 3,
                     SourceRect{0, 0, double(photo.height), double(photo.width)}, h, w,
                     false, one, zero, resized.data());
      const int y0 = rng() % (h - 375 + 1), x0 = rng() % (w - 500 + 1);
      for (int y = 0; y < 375; ++y) {
        for (int x = 0; x < 500 * 3; ++x) {
          const float v = resized[(static_cast<size_t>(y0 + y) * w + x0) * 3 + x];
          window[y * 500 * 3 + x] =
              static_cast<uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f));
        }
      }
      absl::StatusOr<std::string> jpeg = EncodeJpeg(window.data(), 375, 500, 3);
      if (!jpeg.ok()) continue;
      const absl::Status written = WriteScratchFile(
          (dir / absl::StrCat("photo_", jpegs->size(), ".jpg")).string(), *jpeg);
      if (!written.ok()) {
        std::fprintf(stderr, "jpeg_decode: %s\n", written.ToString().c_str());
        return used;
      }
      jpegs->push_back(*jpeg);
    }
  }
  return used;
}

// One way of turning a file into pixels, and its measured time.
struct Variant {
  const char* name;
  std::function<bool(int)> one;  // processes image i; false on error
};

struct Timing {
  int64_t images = 0;
  absl::Duration time;
};

// Runs the variants in turn, one pass over the n images each, round after round
// until each has run for about `seconds`, so that a change in the machine's
// load (other builds share these cores) affects every variant alike.
bool Measure(int n, double seconds, const std::vector<Variant>& variants,
             std::vector<Timing>* timings) {
  timings->assign(variants.size(), Timing());
  while (timings->front().time < absl::Seconds(seconds)) {
    for (size_t k = 0; k < variants.size(); ++k) {
      const Variant& v = variants[k];
      const absl::Time start = absl::Now();
      for (int i = 0; i < n; ++i) {
        if (!v.one(i)) {
          std::fprintf(stderr, "jpeg_decode: %s failed on image %d\n", v.name, i);
          return false;
        }
      }
      (*timings)[k].time += absl::Now() - start;
      (*timings)[k].images += n;
    }
  }
  return true;
}

int Run() {
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const int size = absl::GetFlag(FLAGS_size);
  std::vector<std::string> jpegs;
  std::string source, made_dir;
  if (!absl::GetFlag(FLAGS_images_dir).empty()) {
    for (const fs::path& p : ListJpegs(absl::GetFlag(FLAGS_images_dir), false)) {
      std::string bytes;
      if (ReadFile(p, &bytes)) jpegs.push_back(bytes);
    }
    source = absl::GetFlag(FLAGS_images_dir);
  } else {
    char dir_template[] = "/tmp/tessera_jpeg_bench_XXXXXX";
    if (mkdtemp(dir_template) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    made_dir = dir_template;
    const int photos = MakePhotoSet(made_dir, absl::GetFlag(FLAGS_num_images), &jpegs);
    if (!absl::GetFlag(FLAGS_keep_images)) {
      std::error_code ec;
      fs::remove_all(made_dir, ec);  // the bytes are in memory now
    }
    source = absl::StrCat(dir_template,
                          absl::GetFlag(FLAGS_keep_images) ? "" : " (removed)",
                          ": 500x375 q90 4:2:0 from ", photos, " Debian photos");
  }
  if (jpegs.empty()) {
    std::fprintf(stderr, "jpeg_decode: no JPEG files (install mate-backgrounds or "
                         "python3-skimage, or pass --images_dir)\n");
    return 1;
  }
  const int n = static_cast<int>(jpegs.size());
  std::vector<std::string> records_form(jpegs.size());
  size_t bytes = 0, records_bytes = 0;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<std::string> marked = AddRestartMarkers(jpegs[i], "bench");
    if (!marked.ok()) {
      std::fprintf(stderr, "jpeg_decode: %s\n", marked.status().ToString().c_str());
      return 1;
    }
    records_form[i] = std::move(*marked);
    bytes += jpegs[i].size();
    records_bytes += records_form[i].size();
  }
  std::printf("jpeg_decode: %d images from %s; one thread; %dx%d output\n", n,
              source.c_str(), size, size);
  std::printf(
      "  files %.1f KB on average, %.1f KB as tessera_records stores them "
      "(restart markers, optimized tables)\n",
      bytes / 1e3 / n, records_bytes / 1e3 / n);

  JpegDecodeOptions full_options;
  full_options.dct_scaling = false;
  full_options.partial_decode = false;
  JpegDecoder full(full_options);
  DecodedRegion region;
  auto whole = [](const JpegInfo& i) -> absl::StatusOr<CropWindow> {
    return CropWindow{0, 0, i.height, i.width};
  };
  std::vector<Variant> variants;
  variants.push_back({"full decode, files", [&](int i) {
                        return full.DecodeCrop(jpegs[i], "bench", whole, size, size, &region).ok();
                      }});
  variants.push_back(
      {"full decode, records' form", [&](int i) {
         return full.DecodeCrop(records_form[i], "bench", whole, size, size, &region).ok();
       }});
  std::vector<std::unique_ptr<ImageAugmenter>> augmenters;
  std::vector<float> out(static_cast<size_t>(size) * size * 3);
  std::mt19937_64 rng(7);
  for (bool fast : {false, true}) {
    AugmentOptions options;
    options.out_height = options.out_width = size;
    options.decode.fast_dct = options.decode.fast_upsampling = fast;
    absl::StatusOr<std::unique_ptr<ImageAugmenter>> augmenter =
        ImageAugmenter::Create(options);
    if (!augmenter.ok()) {
      std::fprintf(stderr, "%s\n", augmenter.status().ToString().c_str());
      return 1;
    }
    ImageAugmenter* a = augmenter->get();
    augmenters.push_back(std::move(*augmenter));
    if (!fast) {
      variants.push_back({"augment, files", [&, a](int i) {
                            return a->Train(jpegs[i], "bench", {}, &rng, out.data()).ok();
                          }});
    }
    variants.push_back(
        {fast ? "augment, records' form, fast" : "augment, records' form",
         [&, a](int i) { return a->Train(records_form[i], "bench", {}, &rng, out.data()).ok(); }});
  }
  std::vector<Timing> timings;
  if (!Measure(n, seconds, variants, &timings)) return 1;
  auto rate_of = [](const Timing& t) {
    return t.images / absl::ToDoubleSeconds(t.time);
  };
  const double reference = std::max(rate_of(timings[0]), rate_of(timings[1]));
  for (size_t k = 0; k < variants.size(); ++k) {
    const double rate = rate_of(timings[k]);
    std::printf("  %-31s %7.0f images/s  %.2fx the faster full decode\n", variants[k].name, rate,
                rate / reference);
  }
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return tessera::Run();
}
