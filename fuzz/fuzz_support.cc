#include "fuzz/fuzz_support.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "google/protobuf/stubs/logging.h"

namespace tessera {
namespace fuzz {

const std::string& ScratchDir() {
  static const std::string* const dir = [] {
    std::error_code error;
    const std::filesystem::path tmp = std::filesystem::temp_directory_path(error);
    const std::string pattern = (error ? std::string("/tmp") : tmp.string()) + "/tessera-fuzz-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    FUZZ_CHECK(mkdtemp(buffer.data()) != nullptr, "cannot create a scratch directory");
    return new std::string(buffer.data());
  }();
  return *dir;
}

void WriteFileOrDie(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  FUZZ_CHECK(out.good(), "cannot write " + path);
}

}  // namespace fuzz
}  // namespace tessera

// Called once by libFuzzer (and by replay_main.cc) before the first input:
// protobuf's parser logs every malformed UTF-8 string field, thousands of
// lines a second that slow the run and bury the report.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}
