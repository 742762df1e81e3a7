#ifndef TESSERA_TEST_SGD_TEST_MODEL_H_
#define TESSERA_TEST_SGD_TEST_MODEL_H_

// The model the ps service tests drive a real ps with: "fc/weights" of
// kSgdTestBig elements (10 MB: several chunks) and "fc/bias" of 4, plain SGD
// with learning rate 0.5, so every pushed gradient g moves a value by -g/2
// exactly; and the push fields of worker 1 for it.

#include <cstdint>

#include "protos/ps_service.pb.h"

namespace tessera {

inline constexpr char kSgdTestFingerprint[] = "0123456789abcdef";
inline constexpr int64_t kSgdTestBig = 2500000;

inline CreateVariablesRequest SgdTestModel() {
  CreateVariablesRequest request;
  request.set_fingerprint(kSgdTestFingerprint);
  request.set_num_workers(2);
  request.set_holds_global_step(true);
  request.mutable_optimizer()->set_learning_rate(0.5f);
  request.mutable_optimizer()->mutable_sgd();
  BlockSpec* big = request.add_blocks();
  big->set_name("fc/weights");
  big->mutable_shape()->add_dim(kSgdTestBig / 100);
  big->mutable_shape()->add_dim(100);
  BlockSpec* small = request.add_blocks();
  small->set_name("fc/bias");
  small->mutable_shape()->add_dim(4);
  return request;
}

inline ChunkHeader SgdTestFields(ChunkKind kind, bool increment_global_step = false) {
  ChunkHeader fields;
  fields.set_kind(kind);
  fields.set_fingerprint(kSgdTestFingerprint);
  fields.set_worker_task(1);
  fields.set_increment_global_step(increment_global_step);
  return fields;
}

}  // namespace tessera

#endif  // TESSERA_TEST_SGD_TEST_MODEL_H_
