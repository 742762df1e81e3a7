#include "data/idx_reader.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "data/test_files.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using ::tessera::testing::IdxImagesBytes;
using ::tessera::testing::IdxLabelsBytes;
using ::tessera::testing::TempPath;
using ::tessera::testing::WriteTempFile;

// Two 2x3 images: pixels 0..5 and 250..255.
const std::vector<uint8_t> kPixels = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};

TEST(IdxReaderTest, ReadsPlainAndGzipImages) {
  for (bool gzip : {false, true}) {
    const std::string path = WriteTempFile(gzip ? "images.gz" : "images",
                                           IdxImagesBytes(2, 2, 3, kPixels), gzip);
    absl::StatusOr<Tensor> images = ReadIdxImages(path);
    ASSERT_TRUE(images.ok()) << images.status();
    EXPECT_EQ(images->shape(), (Shape{2, 2, 3, 1}));
    EXPECT_FLOAT_EQ((*images)[0], 0.0f);
    EXPECT_FLOAT_EQ((*images)[5], 5.0f / 255.0f);
    EXPECT_FLOAT_EQ((*images)[6], 250.0f / 255.0f);
    EXPECT_FLOAT_EQ((*images)[11], 1.0f);
  }
}

TEST(IdxReaderTest, ReadsLabels) {
  const std::string path = WriteTempFile("labels.gz", IdxLabelsBytes(3, {7, 0, 9}), true);
  absl::StatusOr<std::vector<int32_t>> labels = ReadIdxLabels(path);
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(*labels, (std::vector<int32_t>{7, 0, 9}));
}

TEST(IdxReaderTest, ReadsDataset) {
  const std::string images = WriteTempFile("ds-images", IdxImagesBytes(2, 2, 3, kPixels));
  const std::string labels = WriteTempFile("ds-labels", IdxLabelsBytes(2, {4, 2}));
  absl::StatusOr<Dataset> dataset = ReadIdxDataset(images, labels);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ(dataset->size(), 2);
  EXPECT_EQ(dataset->input_size(), 6);
  EXPECT_TRUE(dataset->is_classification());
  EXPECT_EQ(dataset->labels, (std::vector<int32_t>{4, 2}));
}

TEST(IdxReaderTest, MissingFile) {
  const std::string path = TempPath("no-such-file.gz");
  absl::Status status = ReadIdxImages(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), path + ": cannot open: No such file or directory");
}

TEST(IdxReaderTest, BadMagic) {
  // A labels file given as images.
  const std::string path = WriteTempFile("swapped", IdxLabelsBytes(2, {1, 2}));
  absl::Status status = ReadIdxImages(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            path + ": bad magic number 0x00000801, want 0x00000803 (IDX unsigned-byte "
                   "images, 3 dimensions)");
  status = ReadIdxLabels(WriteTempFile("swapped2", IdxImagesBytes(2, 2, 3, kPixels)))
               .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(IdxReaderTest, TruncatedHeader) {
  const std::string path = WriteTempFile("short-header", std::string("\0\0\x08\x03\0\0", 6));
  absl::Status status = ReadIdxImages(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(),
            path + ": truncated: file ends in the header's 3 dimensions (2 of 12 bytes)");
  const std::string empty = WriteTempFile("empty", "");
  EXPECT_EQ(ReadIdxLabels(empty).status().message(),
            empty + ": truncated: file ends in the 4-byte magic number (0 of 4 bytes)");
}

TEST(IdxReaderTest, TruncatedPixelsPlainAndGzip) {
  const std::vector<uint8_t> short_pixels(kPixels.begin(), kPixels.begin() + 10);
  for (bool gzip : {false, true}) {
    const std::string path = WriteTempFile(gzip ? "short.gz" : "short",
                                           IdxImagesBytes(2, 2, 3, short_pixels), gzip);
    absl::Status status = ReadIdxImages(path).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << gzip;
    EXPECT_EQ(status.message(),
              path + ": truncated: header promises 12 bytes of pixels, file has 10");
  }
}

TEST(IdxReaderTest, CutGzipStream) {
  // A gzip file cut in the middle of its compressed stream.
  std::vector<uint8_t> pixels(4000);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7919 % 251);
  const std::string full = WriteTempFile("full.gz", IdxImagesBytes(10, 20, 20, pixels), true);
  std::string bytes;
  {
    FILE* f = fopen(full.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    bytes.assign(buf, n / 2);
  }
  const std::string path = WriteTempFile("cut.gz", bytes);
  absl::Status status = ReadIdxImages(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(status.message(), path + ": truncated:")) << status;
}

TEST(IdxReaderTest, CorruptGzipData) {
  std::string bytes("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);  // gzip header
  bytes += std::string(64, '\xff');                                    // not deflate
  const std::string path = WriteTempFile("corrupt.gz", bytes);
  absl::Status status = ReadIdxImages(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(status.message(), path + ": read error: ")) << status;
}

TEST(IdxReaderTest, TrailingBytes) {
  std::string bytes = IdxLabelsBytes(2, {1, 2});
  bytes += "xyz";
  const std::string path = WriteTempFile("trailing", bytes);
  absl::Status status = ReadIdxLabels(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(), path + ": 3 unexpected bytes after the data");
}

TEST(IdxReaderTest, ImplausibleHeader) {
  const std::string zero = WriteTempFile("zero-rows", IdxImagesBytes(2, 0, 3, {}));
  EXPECT_EQ(ReadIdxImages(zero).status().message(),
            zero + ": implausible image size 0x3 in the header");
  // 4e9 images of 60000x60000: refused before any allocation.
  const std::string huge =
      WriteTempFile("huge", IdxImagesBytes(4000000000u, 60000, 60000, {1, 2, 3}));
  EXPECT_EQ(ReadIdxImages(huge).status().message(),
            huge + ": header claims 4000000000 images of 60000x60000, more than 2^34 "
                   "bytes; corrupt?");
  // A large claim under the limit on a tiny file is a truncation, not an
  // out-of-memory: 1000 x 1000 x 1000 = 1e9 bytes promised, 3 present.
  const std::string big = WriteTempFile("big", IdxImagesBytes(1000, 1000, 1000, {1, 2, 3}));
  EXPECT_EQ(ReadIdxImages(big).status().message(),
            big + ": truncated: header promises 1000000000 bytes of pixels, file has 3");
}

TEST(IdxReaderTest, CountsDisagree) {
  const std::string images = WriteTempFile("c-images", IdxImagesBytes(2, 2, 3, kPixels));
  const std::string labels = WriteTempFile("c-labels", IdxLabelsBytes(3, {1, 2, 3}));
  absl::Status status = ReadIdxDataset(images, labels).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), images + " has 2 images but " + labels + " has 3 labels");
}

TEST(IdxReaderTest, FashionMnistIfInstalled) {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  absl::StatusOr<Dataset> test = ReadIdxDataset(dir + "t10k-images-idx3-ubyte.gz",
                                                dir + "t10k-labels-idx1-ubyte.gz");
  if (test.status().code() == absl::StatusCode::kNotFound) {
    GTEST_SKIP() << "dataset-fashion-mnist not installed: " << test.status();
  }
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->inputs.shape(), (Shape{10000, 28, 28, 1}));
  std::vector<int> per_class(10);
  for (int32_t label : test->labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ++per_class[label];
  }
  for (int count : per_class) EXPECT_EQ(count, 1000);  // balanced test set
  float max = 0.0f;
  for (int64_t i = 0; i < test->inputs.size(); ++i) max = std::max(max, test->inputs[i]);
  EXPECT_FLOAT_EQ(max, 1.0f);
}

}  // namespace
}  // namespace tessera
