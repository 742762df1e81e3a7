#ifndef TESSERA_TOOLS_NPZ_WRITER_H_
#define TESSERA_TOOLS_NPZ_WRITER_H_

// Writes NumPy .npz archives of float32 arrays, readable with numpy.load():
// a zip file of STORED (uncompressed) entries "<name>.npy", each a .npy
// version 1.0 file ('<f4', C order). No zip64: every entry and the whole
// archive must stay under 4 GiB, and at most 65535 arrays.
// Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/file_system.h"
#include "common/tensor.h"

namespace tessera {

struct NpzArray {
  std::string name;  // key in numpy.load(...); '/' is allowed, e.g. "dense/w/m"
  Shape shape;
  absl::Span<const float> values;  // borrowed; NumElements(shape) of them
};

// The .npy v1.0 header for a float32 C-order array of `shape`: magic, version,
// length and the dict, space-padded so that the data starts at a multiple of
// 64 bytes. Exposed for tests.
std::string NpyHeader(const Shape& shape);

// Writes `arrays` to `path` in `fs` (borrowed) atomically (temporary file,
// fsync, rename, fsync of the directory; on failure the temporary file is
// removed and `path` untouched). INVALID_ARGUMENT naming the array for an
// empty, duplicate or absolute name, a name with "..", a bad shape or a value
// count that does not match it, or an archive too large without zip64; I/O
// errors name the file and the operation.
absl::Status WriteNpz(const std::string& path, const std::vector<NpzArray>& arrays,
                      FileSystem* fs = DefaultFileSystem());

}  // namespace tessera

#endif  // TESSERA_TOOLS_NPZ_WRITER_H_
