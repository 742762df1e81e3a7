#ifndef TESSERA_PS_STORE_SUMMARY_H_
#define TESSERA_PS_STORE_SUMMARY_H_

// What the variable store (ps/variable_store.h) reports for status: a
// consistent-enough view, a plain value.

#include <cstdint>
#include <map>
#include <string>

#include "ps/training_progress.h"

namespace tessera {

struct StoreSummary {
  bool created = false;
  bool ready = false;  // created and every block initialized
  std::string fingerprint;
  int64_t num_blocks = 0;
  int64_t initialized_blocks = 0;
  int64_t bytes_held = 0;    // values and slots
  int64_t global_step = -1;  // -1 when this ps does not hold it
  std::map<int, WorkerState> workers;
  std::string waiting_for;  // what waiting Pulls wait for; "" when none wait
};

}  // namespace tessera

#endif  // TESSERA_PS_STORE_SUMMARY_H_
