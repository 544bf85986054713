// Horizontal sums shared by the kernels (internal to CKernels).
#ifndef PSR_SIMD_SUMS_H
#define PSR_SIMD_SUMS_H

#if defined(__x86_64__)
#include <immintrin.h>

/// The sum of the eight lanes of v, as ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7)): the order
/// in which psr_hsum8x8 sums each of its rows, so that both give the same bits.
__attribute__((target("avx2,fma"), always_inline)) static inline float psr_hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  __m128 pairs = _mm_hadd_ps(lo, hi);     // v0+v1, v2+v3, v4+v5, v6+v7
  __m128 quads = _mm_hadd_ps(pairs, pairs);  // (v0+v1)+(v2+v3), (v4+v5)+(v6+v7), …
  return _mm_cvtss_f32(_mm_add_ss(quads, _mm_shuffle_ps(quads, quads, 0x55)));
}

/// The eight sums of a[0] … a[7], in order, in one vector: one transposed reduction instead
/// of eight horizontal sums.
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 psr_hsum8x8(const __m256 a[8]) {
  __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
  __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
  __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

#endif  // __x86_64__
#endif
