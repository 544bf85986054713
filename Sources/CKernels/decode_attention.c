// x86-64 only: elsewhere portable.c defines these entry points.
#if defined(__x86_64__)
#include "psr_kernels.h"
#include "portable.h"
#include "simd_sums.h"

#include <immintrin.h>
#include <math.h>

// One query position against a cache, for the query heads that share one key/value head
// (grouped-query attention); their keys and values stay in L1 from one head to the next.

__attribute__((target("avx2,fma"))) static inline float dot_avx2(const float *a, const float *b, int n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float r = psr_hsum8(_mm256_add_ps(s0, s1));
  for (; i < n; i++) r += a[i] * b[i];
  return r;
}


// Scores of eight keys at once: eight independent FMA chains, then one transposed reduction
// (a dot product per key would be bound by its FMA latency and horizontal sum).
__attribute__((target("avx2,fma"))) static void scores(
    int hd, const float *q, const float *keys, int stride, int total, float scale, float *p) {
  int j = 0;
  for (; j + 8 <= total; j += 8) {
    __m256 acc[8];
    _Pragma("clang loop unroll(full)") for (int u = 0; u < 8; u++) acc[u] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d += 8) {
      __m256 qd = _mm256_loadu_ps(q + d);
      _Pragma("clang loop unroll(full)") for (int u = 0; u < 8; u++) acc[u] = _mm256_fmadd_ps(qd, _mm256_loadu_ps(keys + (long)(j + u) * stride + d), acc[u]);
    }
    _mm256_storeu_ps(p + j, _mm256_mul_ps(_mm256_set1_ps(scale), psr_hsum8x8(acc)));
  }
  for (; j < total; j++) p[j] = scale * dot_avx2(q, keys + (long)j * stride, hd);
}

// out = sum_j p[j] v_j, 64 columns (eight chains) at a time.
__attribute__((target("avx2,fma"))) static void weighted_values(
    int hd, const float *p, const float *values, int stride, int total, float *out) {
  int d = 0;
  for (; d + 64 <= hd; d += 64) {
    __m256 acc[8];
    _Pragma("clang loop unroll(full)") for (int u = 0; u < 8; u++) acc[u] = _mm256_setzero_ps();
    for (int j = 0; j < total; j++) {
      const float *vj = values + (long)j * stride + d;
      __m256 w = _mm256_set1_ps(p[j]);
      _Pragma("clang loop unroll(full)") for (int u = 0; u < 8; u++) acc[u] = _mm256_fmadd_ps(w, _mm256_loadu_ps(vj + 8 * u), acc[u]);
    }
    _Pragma("clang loop unroll(full)") for (int u = 0; u < 8; u++) _mm256_storeu_ps(out + d + 8 * u, acc[u]);
  }
  for (; d < hd; d++) {
    float s = 0;
    for (int j = 0; j < total; j++) s += p[j] * values[(long)j * stride + d];
    out[d] = s;
  }
}

__attribute__((target("avx2,fma"))) static void attend_one_avx2(
    int heads, int hd, const float *q, const float *keys, const float *values, int stride, int total, float scale,
    float softcap, float *probabilities, float *out) {
  for (int h = 0; h < heads; h++) {
    float *p = probabilities + (long)h * total;
    if (hd % 8 == 0) {
      scores(hd, q + h * hd, keys, stride, total, scale, p);
    } else {
      for (int j = 0; j < total; j++) p[j] = scale * dot_avx2(q + h * hd, keys + (long)j * stride, hd);
    }
    if (softcap > 0) {
      for (int j = 0; j < total; j++) p[j] = softcap * tanhf(p[j] / softcap);
    }
    float top = p[0];
    for (int j = 1; j < total; j++) top = p[j] > top ? p[j] : top;
    float inv = 1 / psr_exp_shifted(p, total, top);
    for (int j = 0; j < total; j++) p[j] *= inv;
    weighted_values(hd, p, values, stride, total, out + h * hd);
  }
}

void psr_attend_one(
    int heads, int hd, const float *q, const float *keys, const float *values, int stride, int total, float scale,
    float softcap, float *probabilities, float *out) {
  if (psr_has_avx2_fma())
    attend_one_avx2(heads, hd, q, keys, values, stride, total, scale, softcap, probabilities, out);
  else
    psr_portable_attend_one(heads, hd, q, keys, values, stride, total, scale, softcap, probabilities, out);
}

#endif  // __x86_64__
