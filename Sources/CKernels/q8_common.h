// What the two 8-bit-activation products share (internal to CKernels): llama.cpp's rounding, the
// fixed-order lane sum, and the walk over activation rows and weight rows that calls their kernels.
#ifndef PSR_Q8_COMMON_H
#define PSR_Q8_COMMON_H

#include <math.h>
#include <stdint.h>
#include <string.h>

// llama.cpp's nearest_int: round half to even for |v| < 2^22, by adding 1.5·2^23.
static inline int psr_nearest_int(float v) {
  float shifted = v + 12582912.f;
  int32_t bits;
  memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

#if defined(__x86_64__)
#include <immintrin.h>

// The sixteen lanes summed in one fixed order (halves, then psr_hsum8's order).
__attribute__((target("avx2,fma,avx512f"), always_inline)) static inline float psr_reduce16(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  const __m128 lo = _mm256_castps256_ps128(h), hi = _mm256_extractf128_ps(h, 1);
  const __m128 pairs = _mm_hadd_ps(lo, hi);
  const __m128 quads = _mm_hadd_ps(pairs, pairs);
  return _mm_cvtss_f32(_mm_add_ss(quads, _mm_shuffle_ps(quads, quads, 0x55)));
}

/// The kernels of one product: `decode` runs one activation row against weight rows j … j + 3,
/// `tile` 1, 2 or 4 activation rows (level 0, 1, 2) against weight rows j … j + w − 1; both write
/// out[u·8 + r] for weight row j + u and activation row r.
typedef struct {
  void (*decode)(const void *context, int j, const uint8_t *const *x, float *out);
  void (*tile)(const void *context, int j, int w, int level, const uint8_t *const *x, float *out);
  const void *context;
} psr_q8_kernels;

/// y[i·ldy + j] = beta·y[i·ldy + j] + (row i of the quantized activations at `rows`, rowBytes apart)
/// · (weight row j) for i < m, j in [j0, j1). Activation rows go in tiles of about 256 KB, which stay
/// in L2 while every weight row of the range passes over them; one row takes four weight rows at a
/// time. Each output's sum is its kernel's alone, so it does not depend on the tile.
static inline void psr_q8_walk(
    const psr_q8_kernels *kernels, int m, const uint8_t *rows, long rowBytes, float *y, long ldy, float beta, int j0,
    int j1) {
  const uint8_t *xr[4];
  float out[32];
  const int tile = m == 1 ? 1 : (int)fmax(4, fmin(64, (256 << 10) / (double)rowBytes)) / 4 * 4;
  for (int i0 = 0; i0 < m; i0 += tile) {
    const int i1 = i0 + tile < m ? i0 + tile : m;
    for (int j = j0; j < j1;) {
      if (m == 1 && j + 3 < j1) {
        xr[0] = rows;
        kernels->decode(kernels->context, j, xr, out);
        for (int u = 0; u < 4; u++) y[j + u] = (beta == 0 ? 0 : beta * y[j + u]) + out[u * 8];
        j += 4;
        continue;
      }
      const int w = j + 1 < j1 ? 2 : 1;
      for (int i = i0; i < i1;) {
        const int left = i1 - i, level = left >= 4 ? 2 : left >= 2 ? 1 : 0, count = 1 << level;
        for (int r = 0; r < count; r++) xr[r] = rows + (long)(i + r) * rowBytes;
        kernels->tile(kernels->context, j, w, level, xr, out);
        for (int u = 0; u < w; u++)
          for (int r = 0; r < count; r++) {
            float *yr = y + (long)(i + r) * ldy + j + u;
            *yr = (beta == 0 ? 0 : beta * *yr) + out[u * 8 + r];
          }
        i += count;
      }
      j += w;
    }
  }
}
#endif  // __x86_64__

#endif
