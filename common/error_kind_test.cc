#include "common/error_kind.h"

#include "common/status_macros.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(ErrorKindTest, TravelsWithTheStatusNotItsMessage) {
  absl::Status plain = absl::FailedPreconditionError("not initialized: waiting");
  EXPECT_EQ(GetErrorKind(plain), ErrorKind::kNone);  // the text alone says nothing

  absl::Status marked = WithErrorKind(absl::FailedPreconditionError("x"), ErrorKind::kNotInitialized);
  EXPECT_EQ(GetErrorKind(marked), ErrorKind::kNotInitialized);
  EXPECT_EQ(marked.message(), "x");
  EXPECT_EQ(GetErrorKind(WithErrorKind(marked, ErrorKind::kNone)), ErrorKind::kNone);
}

TEST(ErrorKindTest, AnnotateKeepsTheKind) {
  absl::Status marked =
      WithErrorKind(absl::FailedPreconditionError("other fingerprint"), ErrorKind::kFingerprintMismatch);
  absl::Status annotated = Annotate(marked, "Pull to ps 1 at n1:2222");
  EXPECT_EQ(annotated.message(), "Pull to ps 1 at n1:2222: other fingerprint");
  EXPECT_EQ(annotated.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(GetErrorKind(annotated), ErrorKind::kFingerprintMismatch);
}

TEST(ErrorKindTest, OkStaysOkAndNamesRoundTrip) {
  EXPECT_TRUE(WithErrorKind(absl::OkStatus(), ErrorKind::kNotInitialized).ok());
  for (ErrorKind kind : {ErrorKind::kNotInitialized, ErrorKind::kFingerprintMismatch}) {
    EXPECT_EQ(ParseErrorKind(ErrorKindName(kind)), kind);
  }
  EXPECT_EQ(ParseErrorKind("SOMETHING_ELSE"), std::nullopt);
  EXPECT_EQ(ParseErrorKind(""), std::nullopt);
}

}  // namespace
}  // namespace tessera
