// x86-64 only: elsewhere portable.c defines these entry points.
#if defined(__x86_64__)
#include "psr_kernels.h"
#include "portable.h"
#include "simd_sums.h"

#include <immintrin.h>

int psr_has_avx2_fma(void) {
  static int supported = -1;
  if (supported < 0) {
    __builtin_cpu_init();
    supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return supported;
}


/// Dot products of up to 2 x-rows with 4 w-rows: 8 accumulators, 6 loads per 8 FMAs.
__attribute__((target("avx2,fma"))) static void block_2x4(
    int k, const float *x0, const float *x1, const float *w0, const float *w1, const float *w2, const float *w3,
    float out[2][4]) {
  __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
  __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
  int t = 0;
  for (; t + 8 <= k; t += 8) {
    __m256 v0 = _mm256_loadu_ps(w0 + t), v1 = _mm256_loadu_ps(w1 + t), v2 = _mm256_loadu_ps(w2 + t), v3 = _mm256_loadu_ps(w3 + t);
    __m256 p = _mm256_loadu_ps(x0 + t), q = _mm256_loadu_ps(x1 + t);
    a00 = _mm256_fmadd_ps(p, v0, a00); a01 = _mm256_fmadd_ps(p, v1, a01);
    a02 = _mm256_fmadd_ps(p, v2, a02); a03 = _mm256_fmadd_ps(p, v3, a03);
    a10 = _mm256_fmadd_ps(q, v0, a10); a11 = _mm256_fmadd_ps(q, v1, a11);
    a12 = _mm256_fmadd_ps(q, v2, a12); a13 = _mm256_fmadd_ps(q, v3, a13);
  }
  float r[2][4] = {{psr_hsum8(a00), psr_hsum8(a01), psr_hsum8(a02), psr_hsum8(a03)}, {psr_hsum8(a10), psr_hsum8(a11), psr_hsum8(a12), psr_hsum8(a13)}};
  for (; t < k; t++) {
    r[0][0] += x0[t] * w0[t]; r[0][1] += x0[t] * w1[t]; r[0][2] += x0[t] * w2[t]; r[0][3] += x0[t] * w3[t];
    r[1][0] += x1[t] * w0[t]; r[1][1] += x1[t] * w1[t]; r[1][2] += x1[t] * w2[t]; r[1][3] += x1[t] * w3[t];
  }
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++) out[i][j] = r[i][j];
}

__attribute__((target("avx2,fma"))) static void small_gemm_avx2(
    int m, int n, int k, const float *x, const float *w, float *y, float beta, int j0, int j1) {
  for (int j = j0; j < j1; j += 4) {
    // Past the end, repeat the last row; its results are not stored.
    const float *w0 = w + (long)j * k;
    const float *w1 = w + (long)(j + 1 < j1 ? j + 1 : j) * k;
    const float *w2 = w + (long)(j + 2 < j1 ? j + 2 : j) * k;
    const float *w3 = w + (long)(j + 3 < j1 ? j + 3 : j) * k;
    int cols = j1 - j < 4 ? j1 - j : 4;
    for (int i = 0; i < m; i += 2) {
      const float *x0 = x + (long)i * k, *x1 = x + (long)(i + 1 < m ? i + 1 : i) * k;
      float out[2][4];
      block_2x4(k, x0, x1, w0, w1, w2, w3, out);
      for (int r = 0; r < 2 && i + r < m; r++) {
        float *yr = y + (long)(i + r) * n + j;
        for (int c = 0; c < cols; c++) yr[c] = (beta == 0 ? 0 : beta * yr[c]) + out[r][c];
      }
    }
  }
}

void psr_small_gemm_nt(int m, int n, int k, const float *x, const float *w, float *y, float beta, int j0, int j1) {
  if (psr_has_avx2_fma())
    small_gemm_avx2(m, n, k, x, w, y, beta, j0, j1);
  else
    psr_portable_small_gemm_nt(m, n, k, x, w, y, beta, j0, j1);
}

#endif  // __x86_64__
