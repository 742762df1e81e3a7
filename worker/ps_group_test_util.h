#ifndef TESSERA_WORKER_PS_GROUP_TEST_UTIL_H_
#define TESSERA_WORKER_PS_GROUP_TEST_UTIL_H_

// A test fixture for the worker's ps-side logic (PsGroup, PsRecovery,
// CheckpointHook) without a network: two in-memory ps (test/in_memory_ps.h)
// on a fake clock, and a model of two variables, "w" [4, 3] split into row
// blocks across both ps and "b" [3] whole. Tests set the optimizer.

#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/cluster/placement.h"
#include "common/tensor.h"
#include "gtest/gtest.h"
#include "protos/train_config.pb.h"
#include "test/in_memory_ps.h"
#include "worker/ps_group.h"

namespace tessera {

class TwoPsTest : public ::testing::Test {
 protected:
  TwoPsTest() : variables_{{"w", {4, 3}}, {"b", {3}}} {
    plan_ = *PlaceVariables(variables_, 2, /*partition_bytes=*/24);
  }

  // A group of worker `worker_task` of `num_workers` over both ps; `status`
  // (borrowed, optional) shows what it waits for.
  std::unique_ptr<PsGroup> NewGroup(int worker_task = 0, int num_workers = 1,
                                    WorkerStatus* status = nullptr,
                                    TensorEncoding transport_encoding = FLOAT32) {
    PsGroupOptions options;
    options.worker_task = worker_task;
    options.num_workers = num_workers;
    options.status = status;
    options.clock = &clock_;
    options.transport_encoding = transport_encoding;
    return *PsGroup::Create(variables_, plan_, options, ConnectAll({&ps0_, &ps1_}));
  }

  // Tensors of the variables' shapes, all zero.
  static std::vector<Tensor> Zeros() { return {Tensor({4, 3}), Tensor({3})}; }
  // Tensors of the variables' shapes, every element `value`.
  static std::vector<Tensor> Filled(float value) {
    std::vector<Tensor> tensors = Zeros();
    for (Tensor& t : tensors) {
      for (float& x : t.span()) x = value;
    }
    return tensors;
  }
  static std::vector<float> Flat(const Tensor& t) { return {t.span().begin(), t.span().end()}; }

  FakeClock clock_;
  InMemoryPs ps0_{0, &clock_};
  InMemoryPs ps1_{1, &clock_};
  const std::vector<VariableInfo> variables_;
  PlacementPlan plan_;
  TrainConfig config_;
};

}  // namespace tessera

#endif  // TESSERA_WORKER_PS_GROUP_TEST_UTIL_H_
