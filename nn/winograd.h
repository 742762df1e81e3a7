#ifndef TESSERA_NN_WINOGRAD_H_
#define TESSERA_NN_WINOGRAD_H_

// 3x3, stride 1, SAME (padding 1) convolution of NHWC images with a
// [3, 3, Cin, Cout] kernel by Winograd's minimal filtering F(2x2, 3x3) (Lavin
// and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each
// 2x2 output tile is A^T [(G g G^T) . (B^T d B)] A of the 4x4 input tile d
// around it, which takes 16 multiplies per tile, channel pair and step where
// the direct method takes 36. The 16 products of a tile are 16 matrix
// products over (tiles x Cin) x (Cin x Cout) (OpenBLAS sgemm), taken over
// chunks of images whose transformed tiles fit a few MB.
//
// Backward: the input gradient is the same Winograd convolution of the output
// gradient with the kernel turned 180 degrees and Cin/Cout swapped; the weight
// gradient is G^T [sum over tiles (B^T d B) . (A dY A^T)] G, the adjoint of
// Forward's products.
//
// Error: the transforms' constants are 0, +-1 and 1/2, so the result differs
// from the direct sum by float rounding alone (docs/models.md has the measured
// error; nn/winograd_test.cc bounds it).
// Threads: a Winograd3x3 is used by one thread at a time. With OpenBLAS's
// thread count at T > 1 (and a batch of at least 2 images) it cuts the batch
// into up to T parts of consecutive images, one per layer thread
// (nn/layer_threads.h), and each part runs its transforms and its 16 products
// alone, with OpenBLAS set to 1 thread meanwhile: at ResNet's small layers
// (16x16x64) the 16 products split over OpenBLAS's threads spent as long
// meeting as multiplying. The weight gradient's per-part sums are added in
// part order, so a thread count always gives the same result.

#include <cstdint>
#include <memory>
#include <vector>

namespace tessera {

class Winograd3x3 {
 public:
  // Images [H, W, Cin] to [H, W, Cout]; all > 0.
  Winograd3x3(int64_t h, int64_t w, int64_t cin, int64_t cout);

  // y [n, H, W, Cout] = conv(x [n, H, W, Cin], weights [3, 3, Cin, Cout]),
  // overwritten. Keeps the weights' transform for Backward.
  void Forward(const float* x, const float* weights, int64_t n, float* y);
  // From dy [n, H, W, Cout], the x of the last Forward and its weights (whose
  // transform it kept): dweights [3, 3, Cin, Cout] (overwritten) and, when
  // non-null, dx [n, H, W, Cin] (overwritten).
  void Backward(const float* x, const float* dy, int64_t n, float* dx, float* dweights);

  // Images per chunk (transform + products unit) for a batch of `n`.
  int64_t ChunkImages(int64_t n) const;

 private:
  // Target size of one chunk's transformed inputs and products.
  static constexpr int64_t kChunkBytes = int64_t{6} << 20;

  // u_ [16][Cin][Cout] = G g G^T of weights [3, 3, Cin, Cout].
  void TransformWeights(const float* weights);
  // v [16][tiles][c] = B^T d B of the tiles of `n` images [H, W, c] at `in`.
  void InputTransform(const float* in, int64_t n, int64_t c, float* v);
  // The images [n, H, W, c] at `out` from the products m [16][tiles][c]:
  // A^T m A, clipped at the image's edge.
  void OutputTransform(const float* m, int64_t n, int64_t c, float* out);
  // dm [16][tiles][c] = A dy A^T of the output gradient tiles of `n` images
  // [H, W, c] at `dy` (zero beyond the edge): OutputTransform's adjoint.
  void OutputAdjoint(const float* dy, int64_t n, int64_t c, float* dm);
  // conv of n images [H, W, c_in] at `in` into [n, H, W, c_out] at `out`
  // with the kernel of u_ (c_in = Cin, c_out = Cout) or, when `turned`, with
  // that kernel turned 180 degrees and its channels swapped (c_in = Cout,
  // c_out = Cin), which is dx's convolution of dy. The images are cut into
  // the layer threads' parts (see the top of this file).
  void Convolve(const float* in, int64_t n, int64_t c_in, int64_t c_out, bool turned, float* out);
  // Convolve's work for one part's images, chunk by chunk, in scratch_[part].
  void ConvolvePart(int part, const float* in, int64_t n, int64_t c_in, int64_t c_out, bool turned,
                    float* out);
  // scratch_[part].du [16][Cin][Cout] = sum over the tiles of `n` images of
  // V(x)^T dM(dy), point by point.
  void WeightProductsPart(int part, const float* x, const float* dy, int64_t n);
  // Parts for a batch of `n` images: LayerParts(n, 1) (1 inside a part).
  static int ImageParts(int64_t n);

  // One part's transformed inputs and products (see the private functions).
  struct Scratch {
    std::vector<float> v, m, dm, du;
  };

  const int64_t h_, w_, cin_, cout_;
  const int64_t tiles_y_, tiles_x_;  // 2x2 output tiles per image, down and across
  const std::vector<float> zeros_;  // max(Cin, Cout): the tiles' points beyond the edge
  std::vector<float> u_;            // see TransformWeights
  std::vector<Scratch> scratch_;    // one per part
};

}  // namespace tessera

#endif  // TESSERA_NN_WINOGRAD_H_
