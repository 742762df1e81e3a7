#include "common/dataset.h"

#include "gtest/gtest.h"

namespace tessera {
namespace {

TEST(DatasetTest, SizesOfAClassificationSet) {
  Dataset d;
  d.inputs = Tensor({3, 2, 2, 1});
  d.labels = {0, 1, 2};
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.input_size(), 4);
  EXPECT_EQ(d.target_size(), 0);
  EXPECT_TRUE(d.is_classification());
  EXPECT_TRUE(ValidateDataset(d, "d").ok());
}

TEST(DatasetTest, SizesOfARegressionSet) {
  Dataset d;
  d.inputs = Tensor({4, 3});
  d.targets = Tensor({4, 2});
  EXPECT_EQ(d.input_size(), 3);
  EXPECT_EQ(d.target_size(), 2);
  EXPECT_FALSE(d.is_classification());
  EXPECT_TRUE(ValidateDataset(d, "d").ok());
}

TEST(DatasetTest, InvalidDatasets) {
  Dataset d;
  EXPECT_EQ(ValidateDataset(d, "d").message(),
            "d: inputs must have a batch dimension, got a scalar");
  d.inputs = Tensor({2, 3});
  d.labels = {1};
  EXPECT_EQ(ValidateDataset(d, "d").message(), "d: 2 inputs but 1 labels");
  d.labels = {1, -1};
  EXPECT_EQ(ValidateDataset(d, "d").message(), "d: label 1 is negative (-1)");
  d.targets = Tensor({2, 1});
  EXPECT_EQ(ValidateDataset(d, "d").message(),
            "d: has both labels and targets; a dataset has one or the other");
  d.labels.clear();
  d.targets = Tensor({3, 1});
  EXPECT_EQ(ValidateDataset(d, "d").message(), "d: 2 inputs but 3 targets");
}

}  // namespace
}  // namespace tessera
