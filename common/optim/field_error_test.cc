#include "common/optim/field_error.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(FieldErrorTest, NamesFieldRequirementAndValue) {
  const absl::Status s = FieldError("momentum", "in [0, 1)", 1.0f);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "momentum must be in [0, 1), got 1");
}

TEST(FieldErrorTest, FloatsPrintAsFloatsDo) {
  // A float widened to double prints with the float's six digits, not 0.100000001.
  EXPECT_EQ(FieldError("x", "> 0", 0.1f).message(), "x must be > 0, got 0.1");
  EXPECT_EQ(FieldError("x", "> 0", -1e-7f).message(), "x must be > 0, got -1e-07");
}

}  // namespace
}  // namespace tessera
