#ifndef TESSERA_COMMON_LOGGING_H_
#define TESSERA_COMMON_LOGGING_H_

// Line-oriented logging to stderr:
//
//   I1121 23:40:01.123456 ps:0] serving on 127.0.0.1:2222
//
// severity letter, UTC date and time, the process's job:task prefix, message.
// Use LOG(INFO) << ...; LOG(WARNING), LOG(ERROR) likewise. Each message is
// written with one write() so lines from threads never interleave.
// Thread-safe. The prefix is set once by main (SetLogPrefix) before threads start.

#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

namespace tessera {

enum class LogSeverity { kInfo = 0, kWarning = 1, kError = 2 };

// Sets the "job:task" shown on every line (e.g. "worker:1"). Call from main only.
void SetLogPrefix(absl::string_view prefix);

// Formats one log line (without newline); exposed for tests.
std::string FormatLogLine(LogSeverity severity, absl::string_view prefix,
                          absl::string_view message);

class LogMessage {
 public:
  explicit LogMessage(LogSeverity severity) : severity_(severity) {}
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  std::ostringstream stream_;
};

}  // namespace tessera

#define TESSERA_LOG_INFO ::tessera::LogSeverity::kInfo
#define TESSERA_LOG_WARNING ::tessera::LogSeverity::kWarning
#define TESSERA_LOG_ERROR ::tessera::LogSeverity::kError
#define LOG(severity) ::tessera::LogMessage(TESSERA_LOG_##severity).stream()

#endif  // TESSERA_COMMON_LOGGING_H_
