#include "tools/npz_writer.h"

#include <zlib.h>

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/coding.h"
#include "common/status_macros.h"

namespace tessera {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndOfCentralDirectorySignature = 0x06054b50;
constexpr uint16_t kZipVersion = 20;       // 2.0: enough for STORED entries
constexpr uint16_t kUtf8NamesFlag = 0x0800;
constexpr uint16_t kDosDate19800101 = (0 << 9) | (1 << 5) | 1;
constexpr uint64_t kMaxZip32 = 0xffffffffu;

uLong Crc32(uLong crc, const void* data, size_t n) {
  const Bytef* p = static_cast<const Bytef*>(data);
  while (n > 0) {
    const uInt part = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = crc32(crc, p, part);
    p += part;
    n -= part;
  }
  return crc;
}

// The fields local and central headers share, from "version needed" through
// the name and extra lengths.
std::string CommonFields(uint32_t crc, uint32_t size, const std::string& name) {
  std::string out;
  PutFixed16(&out, kZipVersion);
  PutFixed16(&out, kUtf8NamesFlag);
  PutFixed16(&out, 0);  // method: STORED
  PutFixed16(&out, 0);  // time 00:00:00
  PutFixed16(&out, kDosDate19800101);
  PutFixed32(&out, crc);
  PutFixed32(&out, size);  // compressed
  PutFixed32(&out, size);  // uncompressed
  PutFixed16(&out, static_cast<uint16_t>(name.size()));
  PutFixed16(&out, 0);  // extra field length
  return out;
}

absl::Status CheckArray(const NpzArray& a, std::set<std::string>* names) {
  if (a.name.empty() || a.name.size() > 60000 || a.name[0] == '/' ||
      absl::StrContains(a.name, "..") || absl::StrContains(a.name, std::string(1, '\0'))) {
    return absl::InvalidArgumentError(
        absl::StrCat("npz array name \"", a.name, "\" is empty, absolute, too long or has \"..\""));
  }
  if (!names->insert(a.name).second) {
    return absl::InvalidArgumentError(absl::StrCat("npz array \"", a.name, "\" given twice"));
  }
  RETURN_IF_ERROR(ValidateShape(a.shape, absl::StrCat("npz array \"", a.name, "\"")));
  if (NumElements(a.shape) != static_cast<int64_t>(a.values.size())) {
    return absl::InvalidArgumentError(absl::StrCat("npz array \"", a.name, "\" has shape ",
                                                   ShapeString(a.shape), " but ",
                                                   a.values.size(), " values"));
  }
  return absl::OkStatus();
}

// Writes the archive to the open `file`.
absl::Status WriteArchive(WritableFile* file, const std::vector<NpzArray>& arrays) {
  const std::string& path = file->path();
  uint64_t offset = 0;
  std::string central;
  auto write = [&](const void* data, size_t n) -> absl::Status {
    if (n > 0) RETURN_IF_ERROR(file->Append(absl::string_view(static_cast<const char*>(data), n)));
    offset += n;
    return absl::OkStatus();
  };
  for (const NpzArray& a : arrays) {
    const std::string name = a.name + ".npy";
    const std::string npy_header = NpyHeader(a.shape);
    const uint64_t data_bytes = a.values.size() * sizeof(float);
    const uint64_t entry_bytes = npy_header.size() + data_bytes;
    if (entry_bytes > kMaxZip32 || offset > kMaxZip32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "npz array \"", a.name, "\" does not fit in a zip file without zip64 (4 GiB)"));
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = Crc32(crc, npy_header.data(), npy_header.size());
    crc = Crc32(crc, a.values.data(), data_bytes);
    const std::string common =
        CommonFields(static_cast<uint32_t>(crc), static_cast<uint32_t>(entry_bytes), name);

    std::string local;
    PutFixed32(&local, kLocalHeaderSignature);
    local += common;
    local += name;
    PutFixed32(&central, kCentralHeaderSignature);
    PutFixed16(&central, kZipVersion);  // version made by
    central += common;
    PutFixed16(&central, 0);  // comment length
    PutFixed16(&central, 0);  // disk number
    PutFixed16(&central, 0);  // internal attributes
    PutFixed32(&central, 0);  // external attributes
    PutFixed32(&central, static_cast<uint32_t>(offset));
    central += name;

    RETURN_IF_ERROR(write(local.data(), local.size()));
    RETURN_IF_ERROR(write(npy_header.data(), npy_header.size()));
    RETURN_IF_ERROR(write(a.values.data(), data_bytes));
  }
  const uint64_t central_offset = offset;
  if (central_offset + central.size() > kMaxZip32) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the arrays do not fit in a zip file without zip64 (4 GiB)"));
  }
  std::string end;
  PutFixed32(&end, kEndOfCentralDirectorySignature);
  PutFixed16(&end, 0);  // this disk
  PutFixed16(&end, 0);  // disk of the central directory
  PutFixed16(&end, static_cast<uint16_t>(arrays.size()));
  PutFixed16(&end, static_cast<uint16_t>(arrays.size()));
  PutFixed32(&end, static_cast<uint32_t>(central.size()));
  PutFixed32(&end, static_cast<uint32_t>(central_offset));
  PutFixed16(&end, 0);  // comment length
  RETURN_IF_ERROR(write(central.data(), central.size()));
  return write(end.data(), end.size());
}

}  // namespace

std::string NpyHeader(const Shape& shape) {
  std::string dims = absl::StrJoin(shape, ", ");
  if (shape.size() == 1) dims += ",";
  std::string dict =
      absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': (", dims, "), }");
  // magic (6) + version (2) + header length (2) + dict + padding + '\n'.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  PutFixed16(&out, static_cast<uint16_t>(dict.size()));
  return out + dict;
}

absl::Status WriteNpz(const std::string& path, const std::vector<NpzArray>& arrays,
                      FileSystem* fs) {
  if (arrays.size() > 0xffff) {
    return absl::InvalidArgumentError(
        absl::StrCat("npz file ", path, ": ", arrays.size(), " arrays, at most 65535"));
  }
  std::set<std::string> names;
  for (const NpzArray& a : arrays) RETURN_IF_ERROR(CheckArray(a, &names));

  return WriteFileAtomically(
      fs, path, [&arrays](WritableFile* file) { return WriteArchive(file, arrays); });
}

}  // namespace tessera
