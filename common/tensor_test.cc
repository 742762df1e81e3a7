#include "common/tensor.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(TensorTest, ShapeHelpers) {
  EXPECT_EQ(NumElements({}), 1);
  EXPECT_EQ(NumElements({5, 5, 1, 32}), 800);
  EXPECT_EQ(NumElements({3, 0}), 0);
  EXPECT_EQ(ShapeString({5, 5, 1, 32}), "[5, 5, 1, 32]");
  EXPECT_TRUE(ValidateShape({2, 3}, "w").ok());
  absl::Status s = ValidateShape({2, -1}, "fc1/weights");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "fc1/weights: dimension 1 of shape [2, -1] is negative");
  EXPECT_FALSE(ValidateShape({1 << 20, 1 << 20, 2}, "big").ok());
}

TEST(TensorTest, ConstructFillReshape) {
  Tensor t({2, 3});
  EXPECT_EQ(t.size(), 6);
  EXPECT_EQ(t.bytes(), 24);
  EXPECT_EQ(t[5], 0.0f);
  t.Fill(1.5f);
  EXPECT_EQ(t[4], 1.5f);
  EXPECT_TRUE(t.Reshape({3, 2}).ok());
  EXPECT_EQ(t.shape(), Shape({3, 2}));
  absl::Status s = t.Reshape({4, 2});
  EXPECT_EQ(s.message(), "cannot reshape [3, 2] to [4, 2]");
}

TEST(TensorTest, ResizeZeroFillsAndKeepsTheLargestAllocation) {
  Tensor t({4, 10});
  t.Fill(3.0f);
  const float* storage = t.data();
  t.Resize({2, 10});  // smaller: same storage, zeros
  EXPECT_EQ(t.shape(), (Shape{2, 10}));
  EXPECT_EQ(t.size(), 20);
  EXPECT_EQ(t.data(), storage);
  for (int64_t i = 0; i < t.size(); ++i) ASSERT_EQ(t[i], 0.0f);
  t.Fill(5.0f);
  t.Resize({4, 10});  // back to the largest: still the same storage, zeros
  EXPECT_EQ(t.data(), storage);
  for (int64_t i = 0; i < t.size(); ++i) ASSERT_EQ(t[i], 0.0f) << i;
  t.Resize({8, 10});  // larger: grows
  EXPECT_EQ(t.size(), 80);
  for (int64_t i = 0; i < t.size(); ++i) ASSERT_EQ(t[i], 0.0f) << i;
}

TEST(TensorTest, ProtoRoundTrip) {
  Tensor t({2, 2}, {1.0f, -2.5f, 3.25f, 1e-30f});
  TensorProto p = t.ToProto();
  EXPECT_EQ(p.dtype(), DT_FLOAT);
  EXPECT_EQ(p.shape().dim_size(), 2);
  EXPECT_EQ(p.tensor_content().size(), 16u);
  absl::StatusOr<Tensor> back = Tensor::FromProto(p, "w");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->shape(), t.shape());
  for (int i = 0; i < 4; ++i) EXPECT_EQ((*back)[i], t[i]);
}

TEST(TensorTest, FromProtoRejectsBadInput) {
  Tensor t({2, 2}, {1, 2, 3, 4});
  TensorProto p = t.ToProto();
  p.set_dtype(DT_INT32);
  EXPECT_EQ(Tensor::FromProto(p, "conv1/weights").status().message(),
            "conv1/weights: dtype is DT_INT32, want DT_FLOAT");
  p = t.ToProto();
  p.mutable_tensor_content()->resize(12);
  absl::Status s = Tensor::FromProto(p, "conv1/weights").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "conv1/weights: shape [2, 2] needs 16 bytes of tensor_content, got 12");
  p = t.ToProto();
  p.mutable_shape()->set_dim(0, -2);
  EXPECT_EQ(Tensor::FromProto(p, "b").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tessera
