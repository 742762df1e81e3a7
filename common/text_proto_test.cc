#include "common/text_proto.h"

#include "gtest/gtest.h"
#include "protos/cluster.pb.h"

namespace tessera {
namespace {

TEST(TextProtoTest, ParsesAndReportsLineAndColumn) {
  ClusterDef def;
  ASSERT_TRUE(ParseTextProto("job { name: \"ps\" tasks: \"a:1\" }", "c.pbtxt", &def).ok());
  EXPECT_EQ(def.job(0).tasks(0), "a:1");
  absl::Status s = ParseTextProto("job {\n  name: \"ps\"\n  task: \"a:1\"\n}", "c.pbtxt", &def);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "c.pbtxt:3:7: Message type \"tessera.JobDef\" has no field named \"task\".");
}

TEST(TextProtoTest, MissingFileIsNamed) {
  ClusterDef def;
  absl::Status s = ReadTextProtoFile("/no/such.pbtxt", "training config", &def);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "cannot read training config /no/such.pbtxt: No such file or directory");
}

}  // namespace
}  // namespace tessera
