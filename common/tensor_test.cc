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
TEST(TensorTest, BorrowingUsesTheMemoryAndCopiesOwnTheirs) {
  std::vector<float> memory(8, 1.0f);
  Tensor t = Tensor::Borrowing({2, 3}, memory.data() + 1);
  EXPECT_TRUE(t.borrowed());
  EXPECT_EQ(t.size(), 6);
  EXPECT_EQ(t.data(), memory.data() + 1);
  t.Fill(5.0f);
  EXPECT_EQ(memory, std::vector<float>({1, 5, 5, 5, 5, 5, 5, 1}));
  t[0] = 2.0f;
  EXPECT_EQ(memory[1], 2.0f);
  EXPECT_EQ(t.span().size(), 6u);

  Tensor copy = t;  // owns a copy
  EXPECT_FALSE(copy.borrowed());
  EXPECT_NE(copy.data(), t.data());
  EXPECT_EQ(copy.shape(), t.shape());
  EXPECT_EQ(copy[0], 2.0f);
  copy[0] = 7.0f;
  EXPECT_EQ(memory[1], 2.0f);
  Tensor assigned;
  assigned = t;
  EXPECT_FALSE(assigned.borrowed());
  EXPECT_EQ(assigned[1], 5.0f);

  Tensor moved = std::move(t);  // keeps the borrowing
  EXPECT_TRUE(moved.borrowed());
  EXPECT_EQ(moved.data(), memory.data() + 1);
  EXPECT_EQ(t.size(), 0);  // NOLINT(bugprone-use-after-move): moved-from is empty
  std::vector<Tensor> tensors;
  tensors.push_back(std::move(moved));
  tensors.emplace_back(Shape{4});
  tensors.emplace_back(Shape{4});  // reallocates: the moves keep the memory
  EXPECT_EQ(tensors[0].data(), memory.data() + 1);
  EXPECT_FALSE(tensors[1].borrowed());

  // Resize to the same count stays in the memory (zeroed); to another, owns.
  tensors[0].Resize({3, 2});
  EXPECT_EQ(tensors[0].data(), memory.data() + 1);
  EXPECT_EQ(memory, std::vector<float>({1, 0, 0, 0, 0, 0, 0, 1}));
  tensors[0].Resize({7});
  EXPECT_FALSE(tensors[0].borrowed());
  EXPECT_EQ(tensors[0].size(), 7);
  tensors[0][6] = 3.0f;
  EXPECT_EQ(memory[7], 1.0f);
}

TEST(TensorTest, MovesOfOwnedTensorsKeepTheirElements) {
  Tensor a({3});
  a[2] = 4.0f;
  const float* at = a.data();
  Tensor b = std::move(a);
  EXPECT_EQ(b.data(), at);
  EXPECT_EQ(b[2], 4.0f);
  Tensor c({1});
  c = std::move(b);
  EXPECT_EQ(c.data(), at);
  EXPECT_EQ(c.shape(), Shape({3}));
  c = c;  // NOLINT: self-assignment keeps it
  EXPECT_EQ(c[2], 4.0f);
}

}  // namespace tessera
