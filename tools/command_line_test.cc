#include "tools/command_line.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, test_name, "", "a string flag for the test");
ABSL_FLAG(double, test_seconds, 1, "a double flag for the test");
ABSL_FLAG(bool, test_switch, false, "a bool flag for the test");

namespace tessera {
namespace {

absl::Status Check(std::vector<std::string> args) {
  args.insert(args.begin(), "tessera_ctl");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return CheckFlagSyntax(static_cast<int>(argv.size()), argv.data());
}

TEST(CheckFlagSyntaxTest, AcceptsDefinedFlagsInEveryForm) {
  EXPECT_TRUE(Check({"status", "--test_name=x", "-test_seconds", "2.5", "--test_switch",
                     "--notest_switch", "--test_switch=false"})
                  .ok());
  EXPECT_TRUE(Check({"--", "--not_a_flag"}).ok());
}

TEST(CheckFlagSyntaxTest, NamesTheBadArgument) {
  EXPECT_EQ(Check({"status", "--bogus=1"}), absl::InvalidArgumentError("unknown flag --bogus"));
  EXPECT_EQ(Check({"--test_seconds"}),
            absl::InvalidArgumentError("flag --test_seconds needs a value"));
  absl::Status bad = Check({"--test_seconds=abc"});
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message().substr(0, 36), "bad value \"abc\" for --test_seconds: ");
  EXPECT_EQ(Check({"--notest_name"}), absl::InvalidArgumentError("unknown flag --notest_name"));
}

TEST(WantsHelpTest, HelpForms) {
  for (std::string arg : {"-h", "--help", "-help", "help"}) {
    std::string program = "tessera_ctl";
    char* argv[] = {program.data(), arg.data()};
    EXPECT_TRUE(WantsHelp(2, argv)) << arg;
  }
  std::string program = "tessera_ctl", command = "status", cluster = "--cluster=help";
  char* argv[] = {program.data(), command.data(), cluster.data()};
  EXPECT_FALSE(WantsHelp(3, argv));
}

FlagValues Cluster() {
  FlagValues flags;
  flags.cluster = "c.json";
  return flags;
}

TEST(MakeCtlOptionsTest, Commands) {
  auto status = MakeCtlOptions({"status"}, Cluster());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->command, Command::kStatus);
  EXPECT_EQ(status->rpc_timeout, absl::Seconds(2));

  FlagValues flags = Cluster();
  flags.wait_for = "done";
  flags.timeout_seconds = 1.5;
  flags.job = "ps";
  auto wait = MakeCtlOptions({"wait"}, flags);
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(wait->command, Command::kWait);
  EXPECT_EQ(wait->wait.condition, WaitCondition::kDone);
  EXPECT_EQ(wait->wait.timeout, absl::Milliseconds(1500));
  EXPECT_EQ(wait->job, "ps");

  EXPECT_EQ(MakeCtlOptions({"shutdown"}, Cluster())->command, Command::kShutdown);
  EXPECT_EQ(MakeCtlOptions({"tasks"}, Cluster())->command, Command::kTasks);
}

TEST(MakeCtlOptionsTest, UsageErrors) {
  auto error = [](std::vector<std::string> positional, FlagValues flags) {
    return MakeCtlOptions(positional, flags).status();
  };
  EXPECT_EQ(error({}, Cluster()), absl::InvalidArgumentError("no command given"));
  EXPECT_EQ(error({"stats"}, Cluster()), absl::InvalidArgumentError("unknown command \"stats\""));
  EXPECT_EQ(error({"status", "x"}, Cluster()),
            absl::InvalidArgumentError("unexpected argument(s) after \"status\": x"));
  EXPECT_EQ(error({"status"}, FlagValues()),
            absl::InvalidArgumentError("\"status\" needs --cluster=FILE"));
  FlagValues flags = Cluster();
  flags.job = "chief";
  EXPECT_EQ(error({"status"}, flags),
            absl::InvalidArgumentError("--job=chief: want ps, worker or evaluator"));
  flags = Cluster();
  flags.json = true;
  EXPECT_EQ(error({"wait"}, flags), absl::InvalidArgumentError("--json does not apply to \"wait\""));
  flags = Cluster();
  flags.timeout_seconds = 0;
  EXPECT_EQ(error({"status"}, flags), absl::InvalidArgumentError("--timeout=0: want seconds > 0"));
  flags = Cluster();
  flags.wait_for = "maybe";
  flags.timeout_seconds = 1;
  EXPECT_EQ(error({"wait"}, flags),
            absl::InvalidArgumentError("wait needs --for=ready or --for=done, got \"maybe\""));
  flags.wait_for = "ready";
  flags.timeout_seconds = kTimeoutNotGiven;
  EXPECT_EQ(error({"wait"}, flags), absl::InvalidArgumentError("wait needs --timeout=SECONDS"));
}

}  // namespace
}  // namespace tessera
