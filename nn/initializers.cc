#include "nn/initializers.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "nn/random.h"

namespace tessera {

absl::Status ValidateInitializer(const Initializer& initializer, absl::string_view what) {
  switch (initializer.kind_case()) {
    case Initializer::kTruncatedNormal: {
      const auto& tn = initializer.truncated_normal();
      if (!(tn.stddev() > 0.0f) || !std::isfinite(tn.stddev()) || !std::isfinite(tn.mean())) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": truncated_normal needs a finite stddev > 0 and a finite mean, got "
                  "stddev ", tn.stddev(), " mean ", tn.mean()));
      }
      return absl::OkStatus();
    }
    case Initializer::kConstant:
      if (!std::isfinite(initializer.constant().value())) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": constant value ", initializer.constant().value(), " is not finite"));
      }
      return absl::OkStatus();
    case Initializer::kZeros:
    case Initializer::kGlorotUniform:
      return absl::OkStatus();
    case Initializer::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat(what, ": initializer kind is not set"));
}

Tensor InitialTensor(const Initializer& initializer, const Shape& shape, uint64_t seed) {
  Tensor t(shape);
  Rng rng(seed);
  const int64_t count = t.size();
  float* v = t.data();
  switch (initializer.kind_case()) {
    case Initializer::kTruncatedNormal: {
      const double mean = initializer.truncated_normal().mean();
      const double stddev = initializer.truncated_normal().stddev();
      for (int64_t i = 0; i < count; ++i) {
        double z = rng.Normal();
        while (std::fabs(z) > 2.0) z = rng.Normal();
        v[i] = static_cast<float>(mean + stddev * z);
      }
      break;
    }
    case Initializer::kConstant:
      t.Fill(initializer.constant().value());
      break;
    case Initializer::kGlorotUniform: {
      double fan_in = 1.0, fan_out = 1.0;
      if (shape.size() == 1) {
        fan_in = fan_out = static_cast<double>(shape[0]);
      } else if (shape.size() >= 2) {
        double receptive = 1.0;
        for (size_t i = 0; i + 2 < shape.size(); ++i) receptive *= static_cast<double>(shape[i]);
        fan_in = static_cast<double>(shape[shape.size() - 2]) * receptive;
        fan_out = static_cast<double>(shape.back()) * receptive;
      }
      const double limit = std::sqrt(6.0 / std::max(fan_in + fan_out, 1.0));
      for (int64_t i = 0; i < count; ++i) {
        v[i] = static_cast<float>((2.0 * rng.Uniform() - 1.0) * limit);
      }
      break;
    }
    case Initializer::kZeros:
    case Initializer::KIND_NOT_SET:
      break;  // already zero
  }
  return t;
}

}  // namespace tessera
