#ifndef TESSERA_NN_WINOGRAD_H_
#define TESSERA_NN_WINOGRAD_H_

// r x r (3 or 5), stride 1, SAME (padding (r-1)/2) convolution of NHWC images
// with a [r, r, Cin, Cout] kernel by Winograd's minimal filtering
// F(m x m, r x r) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016): F(2x2, 3x3), F(4x4, 3x3) and F(4x4, 5x5). Each m x m
// output tile is A^T [(G g G^T) . (B^T d B)] A of the a x a input tile d around
// it (a = m + r - 1), which takes a^2 multiplies per tile and channel pair where
// the direct method takes r^2 m^2: 16 against 36 for F(2x2, 3x3), 36 against
// 144 for F(4x4, 3x3), 64 against 400 for F(4x4, 5x5) (mnist_deep's conv2).
// The a^2 products of a tile are as many matrix products over
// (tiles x Cin) x (Cin x Cout) (OpenBLAS sgemm), taken over chunks of images
// whose transformed tiles fit a few MB.
//
// Backward, the adjoint of Forward's steps: with dM = A dY A^T of each output
// gradient tile, the weight gradient is G^T [sum over tiles (B^T d B) . dM] G
// and the input gradient the sum over tiles of B (dM U^T) B^T, each added
// into the patch its tile read (neighbouring patches overlap by r - 1 cells).
// dM, made once, feeds both products, and dx reuses Forward's kernel
// transform U.
//
// Error: F(2x2, 3x3)'s constants are 0, +-1 and 1/2, so its result differs
// from the direct sum by float rounding alone; F(4x4, 3x3)'s reach 8 (A) and
// 1/24 (G), and F(4x4, 5x5)'s (points 0, +-1, +-2, +-1/2) 8 and 1/90: their
// errors are several times larger, still near float rounding (docs/models.md
// has the measured errors; nn/winograd_test.cc bounds them).
//
// Threads: a WinogradConv is used by one thread at a time. With OpenBLAS's
// thread count at T > 1 (and a batch of at least 2 images) it cuts the batch
// into up to T parts of consecutive images, one per layer thread, and each
// part runs its transforms and its products alone, with OpenBLAS set to 1
// thread meanwhile (RunLayerPartsOnSerialBlas, nn/layer_threads.h): at
// ResNet's small layers (16x16x64) the products split over OpenBLAS's threads
// spent as long meeting as multiplying. Small maps are cut by points instead
// (SplitByPoints). The weight gradient's per-part sums are added in part order
// (AddPartSums), so a thread count always gives the same result.

#include <cstdint>
#include <memory>
#include <vector>

namespace tessera {

class WinogradConv {
 public:
  // Images [H, W, Cin] to [H, W, Cout]; all > 0. `kernel` is r: 3, or 5 (then
  // the tile is 4). With r = 3, `tile` is m: 2, 4, or 0 for the one with fewer
  // transformed points for the image (4 unless the image is smaller than 3x3,
  // as ResNet's 2x2 layers at 64x64 input).
  WinogradConv(int64_t h, int64_t w, int64_t cin, int64_t cout, int tile = 0, int kernel = 3);

  // m: 2 or 4.
  int tile() const { return m_; }
  // r: 3 or 5.
  int kernel() const { return r_; }

  // y [n, H, W, Cout] = conv(x [n, H, W, Cin], weights [r, r, Cin, Cout]),
  // overwritten. Keeps the weights' transform for Backward.
  void Forward(const float* x, const float* weights, int64_t n, float* y);
  // From dy [n, H, W, Cout] and the x of the last Forward (with the weights'
  // transform it kept): dweights [r, r, Cin, Cout] (overwritten) and, when
  // non-null, dx [n, H, W, Cin] (overwritten).
  void Backward(const float* x, const float* dy, int64_t n, float* dx, float* dweights);

  // Images per chunk (transform + products unit) for a batch of `n`.
  int64_t ChunkImages(int64_t n) const;

  // Whether `parts` > 1 threads share a batch of `n` by points rather than by
  // images: when the whole batch is one chunk and a part of images would have
  // fewer than kMinTilesPerPart tiles (ResNet's 2x2 and 4x4 maps, where each
  // part would repack every weight matrix for a few rows). Then the transforms
  // run on the layer threads over the whole batch and the products are cut by
  // points, each part on single-threaded OpenBLAS.
  // Also when the layer has more weights than the batch has tile values
  // (Cin Cout > tiles (Cin + Cout): ResNet-18's 7x7 maps of 512 channels at
  // 224x224 input) and the whole batch's transforms fit kMaxByPointsBytes.
  bool SplitByPoints(int64_t n, int parts) const;
  static constexpr int64_t kMinTilesPerPart = 64;
  static constexpr int64_t kMaxByPointsBytes = int64_t{32} << 20;

  // The tile (2 or 4) of a 3x3 kernel with fewer transformed points for an
  // h x w image: ceil(h/m) ceil(w/m) (m+2)^2; 4 on a tie.
  static int BestTile(int64_t h, int64_t w);

 private:
  // Target size of one chunk's transformed inputs and products: kChunkBytes,
  // or kShallowChunkBytes for layers of fewer than kShallowChannels input
  // channels, whose per-point products are too shallow to hide the
  // transforms' memory traffic, so their chunk is kept about one core's L2.
  // Measured on an AVX-512 Xeon (2 MB of L2 per core), 300 steps, alternating
  // pairs: mnist_deep's conv2 (32 -> 64 channels, F(4x4, 5x5)) with 2 MB
  // chunks used 9-17% less CPU than with 6 MB in 6 of 6 pairs, 1 MB no
  // better than 2; ResNet-18 at 64x64 (64-512 channels) was 5-10% slower
  // with 2 MB chunks in 4 of 4 pairs.
  static constexpr int64_t kChunkBytes = int64_t{6} << 20;
  static constexpr int64_t kShallowChunkBytes = int64_t{2} << 20;
  static constexpr int64_t kShallowChannels = 64;

  // One part's transformed inputs and products (see the functions below).
  struct Scratch {
    std::vector<float> v, m, dm, du;
  };

  // Calls fn(Transforms<m, r>{}) (winograd.cc) for this layer's m and r: the
  // templates below take that type.
  template <typename Fn>
  void WithTransforms(Fn fn) const;

  // u_ [points][Cin][Cout] = G g G^T of weights [r, r, Cin, Cout].
  template <typename T>
  void TransformWeights(const float* weights);
  // v [points][tiles][c] = B^T d B of the tiles of `n` images [H, W, c] at `in`.
  template <typename T>
  void InputTransform(const float* in, int64_t n, int64_t c, float* v);
  // The images [n, H, W, c] at `out` from the products m [points][tiles][c]:
  // A^T m A, clipped at the image's edge.
  template <typename T>
  void OutputTransform(const float* m, int64_t n, int64_t c, float* out);
  // out [Op::kOut^2 points][tiles][c] = Op x Op^T of the Op::kIn x Op::kIn
  // patches of `n` images [H, W, c] at `in` whose first cell is
  // (M ty - shift, M tx - shift) for output tile (ty, tx), zero beyond the
  // edge: InputTransform's and OutputAdjoint's work.
  template <int M, typename Op>
  void PatchesToPoints(const float* in, int64_t n, int64_t c, int64_t shift, float* out);
  // dm [points][tiles][c] = A dy A^T of the output gradient tiles of `n`
  // images [H, W, c] at `dy` (zero beyond the edge): OutputTransform's adjoint.
  template <typename T>
  void OutputAdjoint(const float* dy, int64_t n, int64_t c, float* dm);
  // dx [n, H, W, c] (overwritten) = the sum over tiles of B dv B^T, each added
  // into the patch InputTransform read for its tile, clipped at the image's
  // edge: InputTransform's adjoint.
  template <typename T>
  void InputAdjoint(const float* dv, int64_t n, int64_t c, float* dx);
  // dweights [r, r, Cin, Cout] = G^T du G.
  template <typename T>
  void WeightAdjoint(const float* du, float* dweights);
  // Forward's work for one part's `n` images, chunk by chunk, in
  // scratch_[part].
  template <typename T>
  void ConvolvePart(int part, const float* x, int64_t n, float* y);
  // Backward's work for one part's `n` images, chunk by chunk:
  // scratch_[part].du [points][Cin][Cout] = sum over their tiles of
  // V(x)^T dM(dy), point by point, and (when dx is non-null) their dx.
  template <typename T>
  void BackwardPart(int part, const float* x, const float* dy, int64_t n, float* dx);
  // Parts for a batch of `n` images: LayerParts(n, 1) (1 inside a part).
  static int ImageParts(int64_t n);
  // m [k] = v [k] u_ [k] for the points k in [k_begin, k_end).
  void Products(const float* v, int64_t tiles, float* m, int64_t k_begin, int64_t k_end) const;
  // For the points k in [k_begin, k_end): du [k] = v [k]^T dm [k] + beta du [k],
  // then when `with_dv` v [k] = dm [k] u_ [k]^T (dV, over the V it has read).
  void BackwardProducts(float* v, const float* dm, int64_t tiles, float beta, float* du,
                        bool with_dv, int64_t k_begin, int64_t k_end) const;
  // Forward and Backward on the whole batch as one chunk: the transforms on
  // the layer threads, the products cut by points into `parts`, each on
  // single-threaded OpenBLAS. The weight products go to scratch_[0].du.
  template <typename T>
  void ConvolveByPoints(const float* x, int64_t n, int parts, float* y);
  template <typename T>
  void BackwardByPoints(const float* x, const float* dy, int64_t n, int parts, float* dx);

  const int64_t h_, w_, cin_, cout_;
  const int r_;                      // kernel r x r
  const int m_;                      // output tile m x m
  const int64_t points_;             // (m+r-1)^2
  const int64_t tiles_y_, tiles_x_;  // output tiles per image, down and across
  std::vector<float> u_;             // Forward's kernel transform, which Backward reads
  std::vector<Scratch> scratch_;     // one per part
};

}  // namespace tessera

#endif  // TESSERA_NN_WINOGRAD_H_
