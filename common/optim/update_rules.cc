#include "common/optim/update_rules.h"

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

// The loops below run over multi-megabyte blocks on the parameter server. They
// take __restrict pointers (Apply's contract forbids overlap) and are built
// with -ftree-vectorize -fno-math-errno (see BUILD) so GCC emits packed SSE
// code, including for std::sqrt.

namespace tessera {
namespace optim_internal {
namespace {

using Slots = absl::Span<const absl::Span<float>>;

class Sgd final : public Optimizer {
 public:
  absl::string_view Name() const override { return "sgd"; }
  const std::vector<std::string>& SlotNames() const override { return names_; }
  float SlotInitialValue(int index) const override { return 0.0f; }

 protected:
  void ApplyChecked(absl::Span<float> var, absl::Span<const float> grad, Slots slots,
                    float lr, int64_t step) const override {
    float* __restrict w = var.data();
    const float* __restrict g = grad.data();
    const size_t n = var.size();
    for (size_t i = 0; i < n; ++i) w[i] -= lr * g[i];
  }

 private:
  const std::vector<std::string> names_{};  // no slots
};

class Momentum final : public Optimizer {
 public:
  Momentum(float momentum, bool use_nesterov)
      : momentum_(momentum), use_nesterov_(use_nesterov) {}
  absl::string_view Name() const override { return "momentum"; }
  const std::vector<std::string>& SlotNames() const override { return names_; }
  float SlotInitialValue(int index) const override { return 0.0f; }

 protected:
  void ApplyChecked(absl::Span<float> var, absl::Span<const float> grad, Slots slots,
                    float lr, int64_t step) const override {
    float* __restrict w = var.data();
    const float* __restrict g = grad.data();
    float* __restrict accum = slots[0].data();
    const size_t n = var.size();
    const float mu = momentum_;
    if (use_nesterov_) {
      const float lr_mu = lr * mu;
      for (size_t i = 0; i < n; ++i) {
        const float a = mu * accum[i] + g[i];
        accum[i] = a;
        w[i] -= lr * g[i] + lr_mu * a;
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        const float a = mu * accum[i] + g[i];
        accum[i] = a;
        w[i] -= lr * a;
      }
    }
  }

 private:
  const float momentum_;
  const bool use_nesterov_;
  const std::vector<std::string> names_{"momentum"};
};

class Adam final : public Optimizer {
 public:
  Adam(float beta1, float beta2, float epsilon)
      : beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {}
  absl::string_view Name() const override { return "adam"; }
  const std::vector<std::string>& SlotNames() const override { return names_; }
  float SlotInitialValue(int index) const override { return 0.0f; }

 protected:
  void ApplyChecked(absl::Span<float> var, absl::Span<const float> grad, Slots slots,
                    float lr, int64_t step) const override {
    // Bias correction in double: beta^t for large t underflows gracefully to 0.
    const double t = static_cast<double>(step);
    const double correction = std::sqrt(1.0 - std::pow(double{beta2_}, t)) /
                              (1.0 - std::pow(double{beta1_}, t));
    const float lr_t = static_cast<float>(lr * correction);
    const float b1 = beta1_, b2 = beta2_, eps = epsilon_;
    const float one_minus_b1 = 1.0f - b1, one_minus_b2 = 1.0f - b2;
    float* __restrict w = var.data();
    const float* __restrict g = grad.data();
    float* __restrict m = slots[0].data();
    float* __restrict v = slots[1].data();
    const size_t n = var.size();
    for (size_t i = 0; i < n; ++i) {
      const float gi = g[i];
      const float mi = b1 * m[i] + one_minus_b1 * gi;
      const float vi = b2 * v[i] + one_minus_b2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] -= lr_t * mi / (std::sqrt(vi) + eps);
    }
  }

 private:
  const float beta1_;
  const float beta2_;
  const float epsilon_;
  const std::vector<std::string> names_{"m", "v"};
};

class RmsProp final : public Optimizer {
 public:
  RmsProp(float decay, float momentum, float epsilon, bool centered)
      : decay_(decay),
        momentum_(momentum),
        epsilon_(epsilon),
        centered_(centered),
        names_(centered ? std::vector<std::string>{"rms", "momentum", "mg"}
                        : std::vector<std::string>{"rms", "momentum"}) {}
  absl::string_view Name() const override { return "rmsprop"; }
  const std::vector<std::string>& SlotNames() const override { return names_; }
  // TensorFlow 1.x starts "rms" at 1 (Keras later changed it to 0).
  float SlotInitialValue(int index) const override { return index == 0 ? 1.0f : 0.0f; }

 protected:
  void ApplyChecked(absl::Span<float> var, absl::Span<const float> grad, Slots slots,
                    float lr, int64_t step) const override {
    const float rho = decay_, one_minus_rho = 1.0f - decay_;
    const float mu = momentum_, eps = epsilon_;
    float* __restrict w = var.data();
    const float* __restrict g = grad.data();
    float* __restrict ms = slots[0].data();
    float* __restrict mom = slots[1].data();
    const size_t n = var.size();
    if (centered_) {
      float* __restrict mg = slots[2].data();
      for (size_t i = 0; i < n; ++i) {
        const float gi = g[i];
        const float msi = rho * ms[i] + one_minus_rho * gi * gi;
        const float mgi = rho * mg[i] + one_minus_rho * gi;
        const float momi = mu * mom[i] + lr * gi / std::sqrt(msi - mgi * mgi + eps);
        ms[i] = msi;
        mg[i] = mgi;
        mom[i] = momi;
        w[i] -= momi;
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        const float gi = g[i];
        const float msi = rho * ms[i] + one_minus_rho * gi * gi;
        const float momi = mu * mom[i] + lr * gi / std::sqrt(msi + eps);
        ms[i] = msi;
        mom[i] = momi;
        w[i] -= momi;
      }
    }
  }

 private:
  const float decay_;
  const float momentum_;
  const float epsilon_;
  const bool centered_;
  const std::vector<std::string> names_;
};

class Adagrad final : public Optimizer {
 public:
  explicit Adagrad(float initial_accumulator_value)
      : initial_accumulator_value_(initial_accumulator_value) {}
  absl::string_view Name() const override { return "adagrad"; }
  const std::vector<std::string>& SlotNames() const override { return names_; }
  float SlotInitialValue(int index) const override { return initial_accumulator_value_; }

 protected:
  void ApplyChecked(absl::Span<float> var, absl::Span<const float> grad, Slots slots,
                    float lr, int64_t step) const override {
    float* __restrict w = var.data();
    const float* __restrict g = grad.data();
    float* __restrict accum = slots[0].data();
    const size_t n = var.size();
    for (size_t i = 0; i < n; ++i) {
      const float gi = g[i];
      const float a = accum[i] + gi * gi;
      accum[i] = a;
      w[i] -= lr * gi / std::sqrt(a);
    }
  }

 private:
  const float initial_accumulator_value_;
  const std::vector<std::string> names_{"accumulator"};
};

}  // namespace

std::unique_ptr<Optimizer> NewSgd() { return std::make_unique<Sgd>(); }

std::unique_ptr<Optimizer> NewMomentum(float momentum, bool use_nesterov) {
  return std::make_unique<Momentum>(momentum, use_nesterov);
}

std::unique_ptr<Optimizer> NewAdam(float beta1, float beta2, float epsilon) {
  return std::make_unique<Adam>(beta1, beta2, epsilon);
}

std::unique_ptr<Optimizer> NewRmsProp(float decay, float momentum, float epsilon,
                                      bool centered) {
  return std::make_unique<RmsProp>(decay, momentum, epsilon, centered);
}

std::unique_ptr<Optimizer> NewAdagrad(float initial_accumulator_value) {
  return std::make_unique<Adagrad>(initial_accumulator_value);
}

}  // namespace optim_internal
}  // namespace tessera
