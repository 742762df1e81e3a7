#ifndef TESSERA_COMMON_OPTIM_UPDATE_RULES_H_
#define TESSERA_COMMON_OPTIM_UPDATE_RULES_H_

// The five update rules behind CreateOptimizer (optimizer.h). Internal to
// common/optim: construct them through CreateOptimizer, which validates the
// hyperparameters these constructors take as given.

#include <memory>

#include "common/optim/optimizer.h"

namespace tessera {
namespace optim_internal {

std::unique_ptr<Optimizer> NewSgd();
std::unique_ptr<Optimizer> NewMomentum(float momentum, bool use_nesterov);
std::unique_ptr<Optimizer> NewAdam(float beta1, float beta2, float epsilon);
std::unique_ptr<Optimizer> NewRmsProp(float decay, float momentum, float epsilon,
                                      bool centered);
std::unique_ptr<Optimizer> NewAdagrad(float initial_accumulator_value);

}  // namespace optim_internal
}  // namespace tessera

#endif  // TESSERA_COMMON_OPTIM_UPDATE_RULES_H_
