#ifndef TESSERA_DATA_IDX_READER_H_
#define TESSERA_DATA_IDX_READER_H_

// Readers for IDX files, the format of MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/): a big-endian header, then unsigned bytes.
//   images: magic 0x00000803, then count, rows, cols (uint32 each), then pixels
//   labels: magic 0x00000801, then count, then one byte per label
// Files may be gzip-compressed or plain (zlib reads both). Stateless and
// thread-safe.
//
// Errors name the file and what is wrong:
//   NOT_FOUND         the file cannot be opened
//   INVALID_ARGUMENT  bad magic number, implausible dimensions, images and
//                     labels that disagree in count
//   DATA_LOSS         truncated file, trailing bytes, corrupt gzip stream

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/dataset.h"
#include "common/tensor.h"

namespace tessera {

// Images as floats pixel / 255, shaped [count, rows, cols, 1].
absl::StatusOr<Tensor> ReadIdxImages(const std::string& path);

// Labels as int32 in [0, 255].
absl::StatusOr<std::vector<int32_t>> ReadIdxLabels(const std::string& path);

// Both files as one classification Dataset; their counts must agree.
absl::StatusOr<Dataset> ReadIdxDataset(const std::string& images_path,
                                       const std::string& labels_path);

}  // namespace tessera

#endif  // TESSERA_DATA_IDX_READER_H_
