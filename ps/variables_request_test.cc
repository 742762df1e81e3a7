#include "ps/variables_request.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

CreateVariablesRequest OneBlock() {
  CreateVariablesRequest request;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(fingerprint: "00000000000000cc"
           num_workers: 2
           optimizer { learning_rate: 0.5 sgd {} }
           blocks { name: "w" variable: "w" shape { dim: 4 dim: 3 } })pb",
      &request));
  return request;
}

TEST(VariablesRequestTest, ShapeAndReplicas) {
  CreateVariablesRequest request = OneBlock();
  EXPECT_EQ(ShapeOf(request.blocks(0)), (Shape{4, 3}));
  EXPECT_EQ(ReplicasToAggregate(request), 2);  // 0: every worker
  request.set_replicas_to_aggregate(1);
  EXPECT_EQ(ReplicasToAggregate(request), 1);
}

TEST(VariablesRequestTest, ValidateNamesTheFirstProblem) {
  EXPECT_TRUE(ValidateCreateRequest(OneBlock()).ok());

  CreateVariablesRequest r = OneBlock();
  r.clear_fingerprint();
  EXPECT_EQ(ValidateCreateRequest(r).message(), "CreateVariables: empty model fingerprint");
  r = OneBlock();
  r.set_num_workers(0);
  EXPECT_EQ(ValidateCreateRequest(r).message(),
            "CreateVariables: num_workers must be >= 1, got 0");
  r = OneBlock();
  r.set_update_mode(static_cast<UpdateMode>(99));
  EXPECT_EQ(ValidateCreateRequest(r).message(), "CreateVariables: unknown update_mode 99");
  r = OneBlock();
  r.set_sync_timeout_secs(-1);
  EXPECT_EQ(ValidateCreateRequest(r).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ValidateCreateRequest(r).message().find("sync_timeout_secs (-1)"),
            absl::string_view::npos);
  r = OneBlock();
  r.mutable_blocks(0)->clear_name();
  EXPECT_EQ(ValidateCreateRequest(r).message(), "CreateVariables: a block has no name");
  r = OneBlock();
  r.mutable_blocks(0)->set_row_offset(-2);
  EXPECT_EQ(ValidateCreateRequest(r).message(), "block 'w' has negative row_offset -2");
}

TEST(VariablesRequestTest, FirstDifferenceNamesIt) {
  const CreateVariablesRequest held = OneBlock();
  EXPECT_EQ(FirstDifference(held, OneBlock()), "");

  CreateVariablesRequest other = OneBlock();
  other.mutable_blocks(0)->set_name("v");
  EXPECT_EQ(FirstDifference(held, other), "block 0 is 'w' here, 'v' in the request");
  other = OneBlock();
  other.mutable_blocks(0)->mutable_shape()->set_dim(0, 5);
  EXPECT_EQ(FirstDifference(held, other),
            "block 'w' has shape [4, 3] at row 0 here, [5, 3] at row 0 in the request");
  other = OneBlock();
  *other.add_blocks() = held.blocks(0);
  other.mutable_blocks(1)->set_name("b");
  EXPECT_EQ(FirstDifference(held, other),
            "1 blocks here, 2 in the request; first unmatched block 'b'");
  other = OneBlock();
  other.mutable_optimizer()->set_learning_rate(0.25f);
  EXPECT_EQ(FirstDifference(held, other), "the optimizer configuration differs");
  other = OneBlock();
  other.set_holds_global_step(true);
  EXPECT_EQ(FirstDifference(held, other), "update_mode, num_workers or holds_global_step differs");
  other = OneBlock();
  other.set_staleness(3);
  EXPECT_EQ(FirstDifference(held, other),
            "the SYNC/STALE settings differ (replicas_to_aggregate 0 vs 0, total_replicas 0 vs "
            "0, staleness 0 vs 3)");
}

}  // namespace
}  // namespace tessera
