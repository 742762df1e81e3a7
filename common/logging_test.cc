#include "common/logging.h"

#include <regex>

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(LoggingTest, LineHasSeverityTimestampPrefixAndMessage) {
  std::string line = FormatLogLine(LogSeverity::kWarning, "worker:1", "waiting for ps 0");
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(W\d{4} \d{2}:\d{2}:\d{2}\.\d{6} worker:1\] waiting for ps 0)")))
      << line;
  line = FormatLogLine(LogSeverity::kError, "", "boom");
  EXPECT_TRUE(std::regex_match(line, std::regex(R"(E\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\] boom)")))
      << line;
}

TEST(LoggingTest, LogMessageWritesOneLineToStderr) {
  SetLogPrefix("ps:3");
  testing::internal::CaptureStderr();
  LOG(INFO) << "serving on " << "127.0.0.1:" << 2222;
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(std::regex_match(
      out, std::regex(R"(I\d{4} [0-9:.]+ ps:3\] serving on 127\.0\.0\.1:2222\n)")))
      << out;
}

}  // namespace
}  // namespace tessera
