#ifndef TESSERA_COMMON_SIMD_CLONES_H_
#define TESSERA_COMMON_SIMD_CLONES_H_

// TESSERA_AVX2_CLONES before a function compiles it twice, for x86-64-v3
// (AVX2 and FMA: 8 floats per instruction) and for the build's baseline
// (x86-64-v2, .bazelrc: 4 floats, and runs on any x86-64 of the last 15
// years); the loader picks the x86-64-v3 copy on CPUs that have it. For the
// elementwise loops of the layers (Winograd's transforms, batch norm,
// activations), which OpenBLAS does not do for us.
//
// Compiled once with clang 14 (--config=fuzz), which emits no resolver for a
// member function's clones, and under ThreadSanitizer, whose instrumented
// resolver would run before the TSan runtime is up (the loader crashes).
#if defined(__clang__) || defined(TESSERA_THREAD_SANITIZER)
#define TESSERA_AVX2_CLONES
#else
#define TESSERA_AVX2_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif

#endif  // TESSERA_COMMON_SIMD_CLONES_H_
