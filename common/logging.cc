#include "common/logging.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tessera {
namespace {

absl::Mutex prefix_mu(absl::kConstInit);
std::string* log_prefix ABSL_GUARDED_BY(prefix_mu) = nullptr;

std::string CurrentPrefix() {
  absl::MutexLock lock(&prefix_mu);
  return log_prefix == nullptr ? std::string() : *log_prefix;
}

}  // namespace

void SetLogPrefix(absl::string_view prefix) {
  absl::MutexLock lock(&prefix_mu);
  if (log_prefix == nullptr) log_prefix = new std::string;
  *log_prefix = std::string(prefix);
}

std::string FormatLogLine(LogSeverity severity, absl::string_view prefix,
                          absl::string_view message) {
  static constexpr char kLetters[] = {'I', 'W', 'E'};
  std::string line(1, kLetters[static_cast<int>(severity)]);
  absl::StrAppend(&line, absl::FormatTime("%m%d %H:%M:%E6S", absl::Now(), absl::UTCTimeZone()));
  if (!prefix.empty()) absl::StrAppend(&line, " ", prefix);
  absl::StrAppend(&line, "] ", message);
  return line;
}

LogMessage::~LogMessage() {
  std::string line = FormatLogLine(severity_, CurrentPrefix(), stream_.str());
  line.push_back('\n');
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace tessera
