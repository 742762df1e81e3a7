#include "worker/train_config.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace tessera {
namespace {

std::string WriteConfig(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(testing::TempDir(), "/", name);
  std::ofstream(path) << text;
  return path;
}

// A valid config without max_steps and optimizer, which tests add.
constexpr char kBase[] = R"(
model { name: "m" input_shape: [1] layer { name: "fc" dense { units: 1 } }
        loss { mean_squared_error {} } }
data { inline_data { x: [1, 2] y: [3, 4] } }
)";
const std::string kMinimal =
    absl::StrCat(kBase, "max_steps: 10\noptimizer { learning_rate: 0.1 sgd {} }\n");

TEST(TrainConfigTest, ExamplesLoadWithModelFileResolvedRelativeToConfig) {
  for (const char* path :
       {"examples/linear_regression.pbtxt", "examples/mnist_deep_fashion.pbtxt",
        "examples/softmax_regression_fashion.pbtxt", "examples/mnist_deep_fashion_jpeg.pbtxt"}) {
    auto config = LoadTrainConfig(path);
    ASSERT_TRUE(config.ok()) << path << ": " << config.status();
    EXPECT_GT(config->model().layer_size(), 0) << path;
  }
  auto lab = LoadTrainConfig("examples/linear_regression.pbtxt");
  EXPECT_EQ(lab->batch_size(), 4);
  EXPECT_EQ(lab->max_steps(), 1000);
  EXPECT_EQ(lab->model().name(), "linear_regression");
}

TEST(TrainConfigTest, DefaultsAndOverrides) {
  const std::string path = WriteConfig("minimal.pbtxt", kMinimal);
  auto config = LoadTrainConfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->batch_size(), 50);
  EXPECT_EQ(config->seed(), 1u);
  EXPECT_EQ(config->partition_bytes(), 1 << 20);
  EXPECT_TRUE(config->eval_at_end());
  EXPECT_EQ(config->rpc_timeout_secs(), 60);
  TrainOverrides o;
  o.max_steps = 7;
  o.batch_size = 3;
  o.learning_rate = 0.5f;
  o.update_mode = "async";
  config = LoadTrainConfig(path, o);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->max_steps(), 7);
  EXPECT_EQ(config->batch_size(), 3);
  EXPECT_FLOAT_EQ(config->optimizer().learning_rate(), 0.5f);
  EXPECT_EQ(config->transport_encoding(), FLOAT32);
  o.transport_encoding = "bfloat16";
  config = LoadTrainConfig(path, o);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->transport_encoding(), BFLOAT16);
  o.transport_encoding = "half";
  EXPECT_EQ(LoadTrainConfig(path, o).status().message(),
            "--transport_encoding must be float32 or bfloat16, got \"half\"");
  o.transport_encoding.reset();
  o.update_mode = "fast";
  EXPECT_EQ(LoadTrainConfig(path, o).status().message(),
            "--update_mode must be async, sync or stale, got \"fast\"");
}

TEST(TrainConfigTest, ErrorsNameFileLineAndField) {
  std::string path = WriteConfig("typo.pbtxt", "max_steps: 10\nbatchsize: 5\n");
  EXPECT_EQ(LoadTrainConfig(path).status().message(),
            absl::StrCat(path, ":2:10: Message type \"tessera.TrainConfig\" has no field named "
                               "\"batchsize\"."));
  path = WriteConfig("nosteps.pbtxt", absl::StrCat(kBase, "max_steps: 0\noptimizer { learning_rate: 0.1 sgd {} }\n"));
  EXPECT_EQ(LoadTrainConfig(path).status().message(),
            absl::StrCat(path, ": max_steps must be > 0, got 0"));
  path = WriteConfig("badbatch.pbtxt", absl::StrCat(kMinimal, "batch_size: -2\n"));
  EXPECT_EQ(LoadTrainConfig(path).status().message(),
            absl::StrCat(path, ": batch_size must be > 0, got -2"));
  path = WriteConfig("badthreads.pbtxt", absl::StrCat(kMinimal, "compute_threads: -1\n"));
  EXPECT_EQ(LoadTrainConfig(path).status().message(),
            absl::StrCat(path, ": compute_threads must be in [0, 256] (0: OpenBLAS's thread "
                               "count), got -1"));
  path = WriteConfig("badsplit.pbtxt", absl::StrCat(kMinimal, "compute_split: 7\n"));
  EXPECT_EQ(LoadTrainConfig(path).status().message(),
            absl::StrCat(path, ": unknown compute_split 7"));
  path = WriteConfig("badencoding.pbtxt", absl::StrCat(kMinimal, "transport_encoding: 5\n"));
  EXPECT_EQ(LoadTrainConfig(path).status().message(),
            absl::StrCat(path, ": unknown transport_encoding 5 (known: FLOAT32, BFLOAT16)"));
  path = WriteConfig("nomodel.pbtxt", "max_steps: 1\n");
  EXPECT_EQ(LoadTrainConfig(path).status().message(),
            absl::StrCat(path, ": no model: set model_file or model { ... }"));
  path = WriteConfig("badmodel.pbtxt", "model_file: \"nope.pbtxt\"\n");
  EXPECT_EQ(LoadTrainConfig(path).status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(LoadTrainConfig(path).status().message().find("cannot read model file"),
            absl::string_view::npos);
  path = WriteConfig("badopt.pbtxt", absl::StrCat(kBase, "max_steps: 10\noptimizer { adam { beta2: 1 } }\n"));
  auto status = LoadTrainConfig(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find(absl::StrCat(path, ": optimizer: ")), absl::string_view::npos)
      << status;
  EXPECT_EQ(LoadTrainConfig("/no/such.pbtxt").status().message(),
            "cannot read training config /no/such.pbtxt: No such file or directory");
}

TEST(TrainConfigTest, ImageShardsAreCheckedAgainstTheModel) {
  const std::string shards = R"(
model { name: "m" input_shape: [8, 8, 3]
        layer { name: "dense" dense { units: 10 } }
        loss { softmax_cross_entropy {} } }
max_steps: 10
optimizer { learning_rate: 0.1 sgd {} }
)";
  const std::string good = WriteConfig(
      "shards.pbtxt",
      absl::StrCat(shards, R"(data { image_shards { train_pattern: "/d/train-*" num_classes: 10 } })"));
  EXPECT_TRUE(LoadTrainConfig(good).ok()) << LoadTrainConfig(good).status();
  const std::string no_classes = WriteConfig(
      "noclasses.pbtxt", absl::StrCat(shards, R"(data { image_shards { train_pattern: "x" } })"));
  EXPECT_EQ(LoadTrainConfig(no_classes).status().message(),
            absl::StrCat(no_classes, ": data.image_shards.num_classes must be >= 1, got 0"));
  const std::string no_pattern = WriteConfig(
      "nopattern.pbtxt", absl::StrCat(shards, R"(data { image_shards { num_classes: 3 } })"));
  EXPECT_EQ(LoadTrainConfig(no_pattern).status().message(),
            absl::StrCat(no_pattern, ": data.image_shards.train_pattern is not set"));
}

TEST(TrainConfigTest, SummaryFields) {
  const std::string path = WriteConfig("summaries.pbtxt", kMinimal);
  auto config = LoadTrainConfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->summary_dir(), "");
  EXPECT_EQ(config->save_summaries_steps(), 100);
  EXPECT_EQ(config->save_histograms_steps(), 1000);
  TrainOverrides o;
  o.summary_dir = "/tmp/sum";
  config = LoadTrainConfig(
      WriteConfig("summaries20.pbtxt", absl::StrCat(kMinimal, "save_summaries_steps: 20\n")), o);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->summary_dir(), "/tmp/sum");
  EXPECT_EQ(config->save_histograms_steps(), 200);
  const std::string bad =
      WriteConfig("badsummaries.pbtxt", absl::StrCat(kMinimal, "save_summaries_steps: -5\n"));
  EXPECT_EQ(LoadTrainConfig(bad).status().message(),
            absl::StrCat(bad, ": save_summaries_steps must be > 0, got -5"));
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

TEST(TrainConfigTest, UpdateModeSettings) {
  const std::string path = WriteConfig(
      "sync.pbtxt", absl::StrCat(kMinimal, "update_mode: SYNC\nreplicas_to_aggregate: 2\n"));
  auto config = LoadTrainConfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->update_mode(), SYNC);
  EXPECT_EQ(config->sync_timeout_secs(), 300);
  EXPECT_EQ(config->worker_timeout_secs(), 60);
  EXPECT_TRUE(ValidateUpdateMode(*config, 3).ok());
  EXPECT_EQ(ValidateUpdateMode(*config, 1).message(),
            "replicas_to_aggregate 2 exceeds total_replicas 1 (the workers)");
  config->set_total_replicas(4);
  EXPECT_EQ(ValidateUpdateMode(*config, 3).message(),
            "total_replicas 4 exceeds the 3 workers of the cluster");

  const std::string bad = WriteConfig(
      "bad_sync.pbtxt",
      absl::StrCat(kMinimal, "update_mode: SYNC\nreplicas_to_aggregate: 3\ntotal_replicas: 2\n"));
  EXPECT_EQ(LoadTrainConfig(bad).status().message(),
            absl::StrCat(bad, ": replicas_to_aggregate 3 exceeds total_replicas 2"));
  const std::string stale =
      WriteConfig("stale.pbtxt", absl::StrCat(kMinimal, "update_mode: STALE\nstaleness: -1\n"));
  EXPECT_EQ(LoadTrainConfig(stale).status().message(),
            absl::StrCat(stale, ": staleness must be >= 0, got -1"));
  const std::string timeout = WriteConfig(
      "timeout.pbtxt", absl::StrCat(kMinimal, "update_mode: SYNC\nsync_timeout_secs: -5\n"));
  EXPECT_EQ(LoadTrainConfig(timeout).status().message(),
            absl::StrCat(timeout, ": sync_timeout_secs (-5) and worker_timeout_secs (60) must "
                                  "be > 0"));
  TrainOverrides o;
  o.update_mode = "stale";
  auto overridden = LoadTrainConfig(WriteConfig("plain.pbtxt", kMinimal), o);
  ASSERT_TRUE(overridden.ok()) << overridden.status();
  EXPECT_EQ(overridden->update_mode(), STALE);
}

}  // namespace
}  // namespace tessera
