#include "psr_kernels.h"

#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>

static int use_avx2 = -1;

static int avx2(void) {
  if (use_avx2 < 0) use_avx2 = psr_has_avx2_fma();
  return use_avx2;
}

__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.3f), hi = _mm256_set1_ps(88.3f);
  __m256 below = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.69314575f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.4286068e-6f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  return _mm256_andnot_ps(below, result);
}

__attribute__((target("avx2,fma"))) static float exp_shifted_avx2(float *x, int count, float shift) {
  __m256 s = _mm256_set1_ps(shift), sum = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= count; i += 8) {
    __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    _mm256_storeu_ps(x + i, v);
    sum = _mm256_add_ps(sum, v);
  }
  float buffer[8];
  _mm256_storeu_ps(buffer, sum);
  float total = buffer[0] + buffer[1] + buffer[2] + buffer[3] + buffer[4] + buffer[5] + buffer[6] + buffer[7];
  for (; i < count; i++) {
    x[i] = expf(x[i] - shift);
    total += x[i];
  }
  return total;
}

// gelu(g)·u with tanh t = 1 − 2/(e^{2t} + 1) on exp8: absolute error of 1 + tanh t below 3e-7
// (libm's tanhf and expm1f took 11% of a Gemma prefill in scalar calls).
__attribute__((target("avx2,fma"))) static int gelu_glu_avx2(const float *g, const float *u, float *y, int count) {
  const __m256 k = _mm256_set1_ps(0.7978845608028654f), c = _mm256_set1_ps(0.044715f);
  const __m256 one = _mm256_set1_ps(1), two = _mm256_set1_ps(2), half = _mm256_set1_ps(0.5f);
  int i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 x = _mm256_loadu_ps(g + i);
    const __m256 t = _mm256_mul_ps(k, _mm256_fmadd_ps(_mm256_mul_ps(c, x), _mm256_mul_ps(x, x), x));
    const __m256 e = exp8(_mm256_add_ps(t, t));
    const __m256 tanh = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(e, one)));
    const __m256 gelu = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, tanh));
    _mm256_storeu_ps(y + i, _mm256_mul_ps(gelu, _mm256_loadu_ps(u + i)));
  }
  return i;  // the caller finishes the last count % 8 with libm
}

#endif  // __x86_64__ (the AVX2 forms above; the scalar loops below run everywhere else)

void psr_gelu_glu(const float *g, const float *u, float *y, int count) {
  int i = 0;
#if defined(__x86_64__)
  if (avx2()) i = gelu_glu_avx2(g, u, y, count);
#endif
  for (; i < count; i++) {
    const float x = g[i], t = tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x));
    y[i] = 0.5f * x * (1 + t) * u[i];
  }
}

float psr_exp_shifted(float *x, int count, float shift) {
#if defined(__x86_64__)
  if (avx2()) return exp_shifted_avx2(x, count, shift);
#endif
  float total = 0;
  for (int i = 0; i < count; i++) {
    x[i] = expf(x[i] - shift);
    total += x[i];
  }
  return total;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static float log_sum_exp_avx2(const float *x, int count) {
  __m256 top = _mm256_set1_ps(-INFINITY);
  int i = 0;
  for (; i + 8 <= count; i += 8) top = _mm256_max_ps(top, _mm256_loadu_ps(x + i));
  float buffer[8];
  _mm256_storeu_ps(buffer, top);
  float shift = -INFINITY;
  for (int j = 0; j < 8; j++) shift = buffer[j] > shift ? buffer[j] : shift;
  for (int j = i; j < count; j++) shift = x[j] > shift ? x[j] : shift;
  if (shift == -INFINITY) return -INFINITY;
  __m256 s = _mm256_set1_ps(shift), sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
  for (i = 0; i + 16 <= count; i += 16) {
    sum0 = _mm256_add_ps(sum0, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
    sum1 = _mm256_add_ps(sum1, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s)));
  }
  _mm256_storeu_ps(buffer, _mm256_add_ps(sum0, sum1));
  float total = buffer[0] + buffer[1] + buffer[2] + buffer[3] + buffer[4] + buffer[5] + buffer[6] + buffer[7];
  for (; i < count; i++) total += expf(x[i] - shift);
  return shift + logf(total);
}

#endif

float psr_log_sum_exp(const float *x, int count) {
#if defined(__x86_64__)
  if (avx2()) return log_sum_exp_avx2(x, count);
#endif
  float shift = -INFINITY;
  for (int i = 0; i < count; i++) shift = x[i] > shift ? x[i] : shift;
  if (shift == -INFINITY) return -INFINITY;
  float total = 0;
  for (int i = 0; i < count; i++) total += expf(x[i] - shift);
  return shift + logf(total);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void swiglu_avx2(const float *g, const float *u, float *y, int count) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= count; i += 8) {
    __m256 gv = _mm256_loadu_ps(g + i);
    __m256 e = exp8(_mm256_sub_ps(zero, gv));
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
  }
  for (; i < count; i++) y[i] = g[i] / (1 + expf(-g[i])) * u[i];
}

#endif

void psr_swiglu(const float *g, const float *u, float *y, int count) {
#if defined(__x86_64__)
  if (avx2()) {
    swiglu_avx2(g, u, y, count);
    return;
  }
#endif
  for (int i = 0; i < count; i++) y[i] = g[i] / (1 + expf(-g[i])) * u[i];
}
