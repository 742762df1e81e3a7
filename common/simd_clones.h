#ifndef TESSERA_COMMON_SIMD_CLONES_H_
#define TESSERA_COMMON_SIMD_CLONES_H_

// TESSERA_SIMD_CLONES before a function compiles it three times: for
// x86-64-v4 (AVX-512: 16 floats per instruction), for x86-64-v3 (AVX2 and
// FMA: 8 floats) and for the build's baseline (x86-64-v2, .bazelrc: 4 floats,
// and runs on any x86-64 of the last 15 years); the loader picks the widest
// copy the CPU has. For the elementwise loops of the layers (Winograd's
// transforms, batch norm, pooling, bfloat16 coding), which no library does
// for us. The AVX-512 copy: mnist_deep in process (Winograd's transforms
// about a third of a step) 10-22% faster on an AVX-512 Xeon, 3 of 3 pairs.
//
// Compiled once with clang 14 (--config=fuzz), which emits no resolver for a
// member function's clones, and under ThreadSanitizer, whose instrumented
// resolver would run before the TSan runtime is up (the loader crashes).
#if defined(__clang__) || defined(TESSERA_THREAD_SANITIZER)
#define TESSERA_SIMD_CLONES
#else
#define TESSERA_SIMD_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif

#endif  // TESSERA_COMMON_SIMD_CLONES_H_
