#include "nn/gradient_check.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nn/random.h"

namespace tessera {
namespace {

std::vector<const Tensor*> Pointers(const std::vector<Tensor>& tensors) {
  std::vector<const Tensor*> p;
  for (const Tensor& t : tensors) p.push_back(&t);
  return p;
}

double WeightedSum(const Tensor& output, const Tensor& weights) {
  double sum = 0.0;
  for (int64_t i = 0; i < output.size(); ++i) {
    sum += static_cast<double>(output[i]) * static_cast<double>(weights[i]);
  }
  return sum;
}

}  // namespace

Initializer ZerosInitializer() {
  Initializer i;
  i.mutable_zeros();
  return i;
}

Tensor RandomTensor(const Shape& shape, uint64_t seed, float lo, float hi) {
  Tensor t(shape);
  Rng rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = lo + (hi - lo) * rng.Uniform();
  return t;
}

int CheckLayerGradients(Layer* layer, std::vector<Tensor> params, Tensor input,
                        const GradientCheckOptions& options) {
  std::vector<Tensor> inputs;
  inputs.push_back(std::move(input));
  return CheckMultiInputLayerGradients(layer, std::move(params), std::move(inputs), options);
}

int CheckMultiInputLayerGradients(Layer* layer, std::vector<Tensor> params,
                                  std::vector<Tensor> inputs,
                                  const GradientCheckOptions& options) {
  Tensor output;
  layer->ForwardInputs(Pointers(params), Pointers(inputs), options.forward, &output);
  const Tensor weights = RandomTensor(output.shape(), 12345, -1.0f, 1.0f);

  // Analytic gradients; dLoss/dOutput = weights.
  std::vector<Tensor> grad_params;
  std::vector<Tensor*> grad_ptrs;
  for (const Tensor& p : params) grad_params.emplace_back(p.shape());
  for (Tensor& g : grad_params) grad_ptrs.push_back(&g);
  std::vector<Tensor> grad_inputs(inputs.size());
  std::vector<Tensor*> grad_input_ptrs;
  for (Tensor& g : grad_inputs) grad_input_ptrs.push_back(options.check_input ? &g : nullptr);
  layer->BackwardInputs(Pointers(params), Pointers(inputs), output, weights,
                        absl::MakeSpan(grad_input_ptrs), absl::MakeSpan(grad_ptrs));

  auto loss = [&]() {
    Tensor out;
    layer->ForwardInputs(Pointers(params), Pointers(inputs), options.forward, &out);
    return WeightedSum(out, weights);
  };
  int failures = 0;
  auto check = [&](Tensor* x, const Tensor& analytic, const std::string& what) {
    EXPECT_EQ(analytic.size(), x->size()) << what;
    if (analytic.size() != x->size()) {
      ++failures;
      return;
    }
    int reported = 0;
    for (int64_t i = 0; i < x->size(); ++i) {
      const float saved = (*x)[i];
      (*x)[i] = static_cast<float>(saved + options.epsilon);
      const double plus = loss();
      (*x)[i] = static_cast<float>(saved - options.epsilon);
      const double minus = loss();
      (*x)[i] = saved;
      const double numeric = (plus - minus) / (2.0 * options.epsilon);
      const double error = std::fabs(numeric - analytic[i]);
      if (error > options.abs_tolerance + options.rel_tolerance * std::fabs(numeric)) {
        ++failures;
        if (reported++ < 5) {
          ADD_FAILURE() << layer->name() << " d/d" << what << "[" << i
                        << "]: analytic " << analytic[i] << ", numeric " << numeric;
        }
      }
    }
  };
  if (options.check_input) {
    for (size_t j = 0; j < inputs.size(); ++j) {
      check(&inputs[j], grad_inputs[j], inputs.size() == 1 ? "input" : absl::StrCat("input", j));
    }
  }
  // A moving average's "gradient" is its update's delta, not a derivative.
  const std::vector<VariableSpec> specs = layer->Variables();
  for (size_t p = 0; p < params.size(); ++p) {
    if (p < specs.size() && specs[p].kind != TRAINABLE) continue;
    check(&params[p], grad_params[p], absl::StrCat("param", p));
  }
  return failures;
}

}  // namespace tessera
