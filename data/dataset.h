#ifndef TESSERA_DATA_DATASET_H_
#define TESSERA_DATA_DATASET_H_

// Transitional, to be deleted: Dataset now lives in common/dataset.h and is
// also the batch type (Batch was the same struct). Only worker/worker.{h,cc},
// which are being changed on another branch, still include this header and
// say Batch; when they include common/dataset.h and say Dataset, delete this
// file and the //data:dataset target.

#include "common/dataset.h"

namespace tessera {

using Batch = Dataset;

}  // namespace tessera

#endif  // TESSERA_DATA_DATASET_H_
