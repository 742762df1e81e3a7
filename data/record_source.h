#ifndef TESSERA_DATA_RECORD_SOURCE_H_
#define TESSERA_DATA_RECORD_SOURCE_H_

// A stream of serialized records (e.g. tf.train.Example protos from TFRecord
// shards: data/shard_reader.h), and what turns one into a training example.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tessera {

// Not thread-safe: one reader at a time.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // The next record into *record; false when there are no more. Errors name
  // the file and the record's place.
  virtual absl::StatusOr<bool> Next(std::string* record) = 0;
};

// Decodes one record into one example: exactly input.size() floats and a
// class label. `seed` drives any random augmentation, so the same record and
// seed give the same example. An error (a corrupt image, a missing key, a
// label out of range) names the record. One decoder per thread; a decoder may
// keep buffers between calls.
class ExampleDecoder {
 public:
  virtual ~ExampleDecoder() = default;
  virtual absl::Status Decode(absl::string_view record, uint64_t seed, absl::Span<float> input,
                              int32_t* label) = 0;
};

}  // namespace tessera

#endif  // TESSERA_DATA_RECORD_SOURCE_H_
