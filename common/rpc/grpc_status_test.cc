#include "common/rpc/grpc_status.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(GrpcStatusTest, RoundTripKeepsCodeAndMessage) {
  for (auto code : {absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
                    absl::StatusCode::kFailedPrecondition, absl::StatusCode::kUnavailable,
                    absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kDataLoss}) {
    absl::Status s(code, "variable fc1/weights: shape mismatch");
    grpc::Status g = ToGrpcStatus(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), static_cast<int>(code));
    EXPECT_EQ(g.error_message(), "variable fc1/weights: shape mismatch");
    EXPECT_EQ(FromGrpcStatus(g), s);
  }
}

TEST(GrpcStatusTest, OkStaysOkAndContextIsPrefixed) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK, "ps 0").ok());
  absl::Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed"),
                                  "Pull from ps 1 at localhost:2223");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "Pull from ps 1 at localhost:2223: connect failed");
}

TEST(GrpcStatusTest, ErrorKindCrossesTheWire) {
  absl::Status s = WithErrorKind(absl::FailedPreconditionError("waiting for the chief"),
                                 ErrorKind::kNotInitialized);
  grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_details(), "tessera.error_kind:NOT_INITIALIZED");
  absl::Status back = FromGrpcStatus(g, "Pull to ps 0 at n0:2222");
  EXPECT_EQ(back.message(), "Pull to ps 0 at n0:2222: waiting for the chief");
  EXPECT_EQ(GetErrorKind(back), ErrorKind::kNotInitialized);

  // Details of another form (e.g. a google.rpc.Status) or an unknown kind: no kind.
  EXPECT_EQ(GetErrorKind(FromGrpcStatus(
                grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "m", "\x08\x09"))),
            ErrorKind::kNone);
  EXPECT_EQ(GetErrorKind(FromGrpcStatus(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "m",
                                                     "tessera.error_kind:NEW_KIND"))),
            ErrorKind::kNone);
  EXPECT_TRUE(ToGrpcStatus(absl::NotFoundError("x")).error_details().empty());
}

}  // namespace
}  // namespace tessera
