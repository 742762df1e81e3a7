#ifndef TESSERA_NN_CONV_REFERENCE_H_
#define TESSERA_NN_CONV_REFERENCE_H_

// Naive convolutions in double, the references of the conv2d and Winograd tests.

#include <cstdint>
#include <vector>

#include "common/tensor.h"

namespace tessera {

// Direct convolution, NHWC input, [K, K, Cin, Cout] kernel, in double; SAME
// (TensorFlow's padding) or VALID. Sets the output size in *oh, *ow.
std::vector<double> NaiveConv(const Tensor& x, const Tensor& w, const Tensor& b,
                              int64_t stride, bool same, int64_t* oh, int64_t* ow);

// Gradients of the naive convolution (SAME, stride 1, odd K) in double, given
// dLoss/dy.
void NaiveConvBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                       std::vector<double>* dx, std::vector<double>* dw,
                       std::vector<double>* db);

}  // namespace tessera

#endif  // TESSERA_NN_CONV_REFERENCE_H_
