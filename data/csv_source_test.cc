#include "data/csv_source.h"

#include <string>
#include <vector>

#include "data/test_files.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

std::vector<float> Values(const Tensor& t) { return {t.data(), t.data() + t.size()}; }

TEST(CsvSourceTest, ParsesInputsAndTargets) {
  CsvOptions options;
  options.num_outputs = 1;
  absl::StatusOr<Dataset> d = ParseCsv(
      "# x1,x2,y\n"
      "1,2,3\n"
      "\n"
      " 4 , 5.5 , -6e-1 \n"
      "7,8,9", "points.csv", options);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inputs.shape(), (Shape{3, 2}));
  EXPECT_EQ(d->targets.shape(), (Shape{3, 1}));
  EXPECT_EQ(Values(d->inputs), (std::vector<float>{1, 2, 4, 5.5f, 7, 8}));
  EXPECT_EQ(Values(d->targets), (std::vector<float>{3, -0.6f, 9}));
  EXPECT_FALSE(d->is_classification());
}

TEST(CsvSourceTest, HeaderAndSeveralOutputs) {
  CsvOptions options;
  options.num_outputs = 2;
  options.has_header = true;
  absl::StatusOr<Dataset> d = ParseCsv("x,y1,y2\n1,2,3\r\n4,5,6\n", "f.csv", options);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inputs.shape(), (Shape{2, 1}));
  EXPECT_EQ(Values(d->targets), (std::vector<float>{2, 3, 5, 6}));
}

TEST(CsvSourceTest, ErrorsNameFileAndLine) {
  const CsvOptions options;
  EXPECT_EQ(ParseCsv("1,2\n3,x\n", "p.csv", options).status().message(),
            "p.csv:2: field 2 \"x\" is not a finite number");
  EXPECT_EQ(ParseCsv("1,2\n\n3,4,5\n", "p.csv", options).status().message(),
            "p.csv:3: 3 fields, expected 2 as on line 1");
  EXPECT_EQ(ParseCsv("# only\n7\n", "p.csv", options).status().message(),
            "p.csv:2: 1 fields, need at least 2 (inputs, then 1 target)");
  EXPECT_EQ(ParseCsv("# nothing\n\n", "p.csv", options).status().message(),
            "p.csv: no examples");
  EXPECT_EQ(ParseCsv("1,nan\n", "p.csv", options).status().code(),
            absl::StatusCode::kInvalidArgument);
  CsvOptions zero;
  zero.num_outputs = 0;
  EXPECT_EQ(ParseCsv("1,2\n", "p.csv", zero).status().message(),
            "p.csv: num_outputs must be >= 1, got 0");
}

TEST(CsvSourceTest, ReadsFile) {
  const std::string path = testing::WriteTempFile("points.csv", "1,0\n2,-1\n");
  absl::StatusOr<Dataset> d = ReadCsvFile(path, CsvOptions());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->size(), 2);
  const std::string missing = testing::TempPath("missing.csv");
  absl::Status status = ReadCsvFile(missing, CsvOptions()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), missing + ": cannot open: No such file or directory");
  const std::string bad = testing::WriteTempFile("bad.csv", "1,0\n2\n");
  EXPECT_EQ(ReadCsvFile(bad, CsvOptions()).status().message(),
            bad + ":2: 1 fields, expected 2 as on line 1");
}

TEST(DatasetFromValuesTest, LinearRegressionLab) {
  const std::vector<float> x{1, 2, 3, 4}, y{0, -1, -2, -3};
  absl::StatusOr<Dataset> d = DatasetFromValues(x, y, 1, "inline");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inputs.shape(), (Shape{4, 1}));
  EXPECT_EQ(d->targets.shape(), (Shape{4, 1}));
  EXPECT_EQ(Values(d->targets), y);
}

TEST(DatasetFromValuesTest, SeveralFeatures) {
  const std::vector<float> x{1, 2, 3, 4, 5, 6}, y{7, 8, 9, 10, 11, 12};
  absl::StatusOr<Dataset> d = DatasetFromValues(x, y, 2, "inline");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->inputs.shape(), (Shape{3, 2}));
  EXPECT_EQ(d->targets.shape(), (Shape{3, 2}));
}

TEST(DatasetFromValuesTest, SizesMustDivide) {
  const std::vector<float> x{1, 2, 3}, y{1, 2};
  EXPECT_EQ(DatasetFromValues(x, y, 2, "data.inline_data").status().message(),
            "data.inline_data: x has 3 values, want a positive multiple of num_features = 2");
  EXPECT_EQ(DatasetFromValues(x, y, 1, "data.inline_data").status().message(),
            "data.inline_data: y has 2 values, want a positive multiple of the 3 examples in x");
  EXPECT_EQ(DatasetFromValues({}, y, 1, "d").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DatasetFromValues(x, y, 0, "d").status().message(),
            "d: num_features must be >= 1, got 0");
}

}  // namespace
}  // namespace tessera
