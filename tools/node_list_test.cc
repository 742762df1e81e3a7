#include "tools/node_list.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Parse(const std::string& text) {
  absl::StatusOr<std::vector<std::string>> hosts = ParseNodeList(text, "nodes");
  EXPECT_TRUE(hosts.ok()) << hosts.status();
  return hosts.ok() ? *hosts : std::vector<std::string>{};
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<std::vector<std::string>> hosts = ParseNodeList(text, "nodes");
  EXPECT_FALSE(hosts.ok()) << "parsed \"" << text << "\"";
  if (hosts.ok()) return "";
  EXPECT_EQ(hosts.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(hosts.status().message());
}

TEST(NodeListTest, PbsNodefileKeepsRepeatsInOrder) {
  EXPECT_THAT(Parse("nid00012\nnid00012\nnid00013\n\nnid00012\n"),
              ElementsAre("nid00012", "nid00012", "nid00013", "nid00012"));
}

TEST(NodeListTest, CommentsAndCrLf) {
  EXPECT_THAT(Parse("# nodes of job 42\r\nn1.cluster.org\r\nn2 # login\r\n"),
              ElementsAre("n1.cluster.org", "n2"));
}

TEST(NodeListTest, SlurmRangesKeepPadding) {
  EXPECT_THAT(Parse("nid[0001-0003,0007]"),
              ElementsAre("nid0001", "nid0002", "nid0003", "nid0007"));
  EXPECT_THAT(Parse("n[08-10]"), ElementsAre("n08", "n09", "n10"));
  EXPECT_THAT(Parse("n[9-11]"), ElementsAre("n9", "n10", "n11"));
}

TEST(NodeListTest, SeveralTermsAndGroups) {
  EXPECT_THAT(Parse("node[1-3],gpu[01-02]"),
              ElementsAre("node1", "node2", "node3", "gpu01", "gpu02"));
  EXPECT_THAT(Parse("login1,c[1-2]-ib"), ElementsAre("login1", "c1-ib", "c2-ib"));
  EXPECT_THAT(Parse("r[1-2]n[1-2]"), ElementsAre("r1n1", "r1n2", "r2n1", "r2n2"));
  EXPECT_THAT(Parse("a b,c\nd"), ElementsAre("a", "b", "c", "d"));
}

TEST(NodeListTest, UniqueHostsKeepsFirstAppearance) {
  EXPECT_THAT(UniqueHosts({"b", "a", "b", "c", "a"}), ElementsAre("b", "a", "c"));
}

TEST(NodeListTest, EmptyListIsAnError) {
  EXPECT_EQ(ErrorOf(""), "nodes: no host names in the node list (it is empty)");
  EXPECT_EQ(ErrorOf("\n  # only a comment\n"),
            "nodes: no host names in the node list (it is empty)");
}

TEST(NodeListTest, ErrorsNameLineAndColumn) {
  EXPECT_EQ(ErrorOf("n1\nnid[1-3"), "nodes: line 2, column 8: '[' is not closed by ']'");
  EXPECT_EQ(ErrorOf("nid[1-3\nn2"), "nodes: line 1, column 8: '[' is not closed by ']'");
  EXPECT_EQ(ErrorOf("nid1]"), "nodes: line 1, column 5: ']' without a matching '['");
  EXPECT_EQ(ErrorOf("n[5-2]"), "nodes: line 1, column 3: range 5-2 runs backwards");
  EXPECT_EQ(ErrorOf("n[1-]"), "nodes: line 1, column 5: expected a number in brackets, found ']'");
  EXPECT_EQ(ErrorOf("n[a]"), "nodes: line 1, column 3: expected a number in brackets, found 'a'");
  EXPECT_EQ(ErrorOf("n[]"), "nodes: line 1, column 3: expected a number in brackets, found ']'");
  EXPECT_EQ(ErrorOf("n[1;2]"),
            "nodes: line 1, column 4: unexpected ';' in brackets (want digits, '-', ',' or ']')");
  EXPECT_EQ(ErrorOf("ok\nhost slots=4"),
            "nodes: line 2, column 11: unexpected '=' (host names hold letters, digits, '.', "
            "'-' and '_')");
  EXPECT_EQ(ErrorOf("-n1"), "nodes: line 1, column 1: host name \"-n1\" starts with '-'");
}

TEST(NodeListTest, RefusesHugeExpansions) {
  EXPECT_THAT(ErrorOf("n[0-999999999]"), HasSubstr("has more than 100000 numbers"));
  EXPECT_THAT(ErrorOf("a[0-999]b[0-999]"), HasSubstr("expands to more than 100000 hosts"));
  EXPECT_THAT(ErrorOf("n[1234567890]"), HasSubstr("number 1234567890 is too long"));
}

}  // namespace
}  // namespace tessera
