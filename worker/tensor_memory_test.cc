#include "worker/tensor_memory.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(TensorMemoryTest, LaysOutValuesThenGradientsAlignedInOneMemory) {
  std::vector<Tensor> values = {Tensor({1})}, grads;
  absl::StatusOr<std::shared_ptr<SharedMemory>> memory =
      MakeSharedTensors({{3, 5}, {7}, {2, 2}}, &values, &grads);
  ASSERT_TRUE(memory.ok()) << memory.status();
  ASSERT_EQ(values.size(), 3u);
  ASSERT_EQ(grads.size(), 3u);
  // 60, 28 and 16 bytes: each at the next 64-byte boundary.
  EXPECT_EQ((*memory)->size(), 2u * 3 * 64);
  const char* base = (*memory)->data();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(values[i].borrowed());
    EXPECT_TRUE(grads[i].borrowed());
    EXPECT_EQ(reinterpret_cast<const char*>(values[i].data()), base + 64 * i);
    EXPECT_EQ(reinterpret_cast<const char*>(grads[i].data()), base + 64 * (3 + i));
    EXPECT_EQ((*memory)->OffsetOf(grads[i].data(), grads[i].bytes()), 64 * (3 + i));
    for (int64_t j = 0; j < values[i].size(); ++j) EXPECT_EQ(values[i][j], 0.0f);
  }
  EXPECT_EQ(values[0].shape(), Shape({3, 5}));
  EXPECT_EQ(grads[2].shape(), Shape({2, 2}));
  grads[1].Fill(2.0f);
  EXPECT_EQ(reinterpret_cast<const float*>(base + 4 * 64)[6], 2.0f);
  EXPECT_EQ(reinterpret_cast<const float*>(base + 4 * 64)[7], 0.0f);  // the padding
  // Not inside: other memory, or running past the end.
  const float elsewhere = 0;
  EXPECT_EQ((*memory)->OffsetOf(&elsewhere, 4), -1);
  EXPECT_EQ((*memory)->OffsetOf(base + (*memory)->size() - 4, 4),
            static_cast<int64_t>((*memory)->size()) - 4);
  EXPECT_EQ((*memory)->OffsetOf(base + (*memory)->size() - 4, 8), -1);
  EXPECT_EQ((*memory)->OffsetOf(base - 4, 8), -1);
}

TEST(TensorMemoryTest, NoElementsIsAnError) {
  std::vector<Tensor> values, grads;
  absl::StatusOr<std::shared_ptr<SharedMemory>> memory = MakeSharedTensors({{0}}, &values, &grads);
  EXPECT_EQ(memory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(values.empty());
  EXPECT_TRUE(grads.empty());
}

}  // namespace
}  // namespace tessera
