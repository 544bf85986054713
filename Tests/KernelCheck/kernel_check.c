// Checks every CKernels entry point on deterministic inputs, in C alone, so that it runs on any
// architecture the kernels are cross-compiled for (scripts/check-kernels-aarch64.sh runs it under
// qemu-aarch64-static).
//
//   kernel_check --write FILE     run here, check each kernel against a double-precision reference
//                                 (and, on x86-64, against the portable kernels), write the outputs
//   kernel_check --compare FILE   run here, check as above, and check each output against FILE's
//
// Tolerances, the Swift tests' own: a product's output within 1e-5·Σ|x·w| of the exact sum (twice
// that between two machines, each being within it); exp and SwiGLU within 1e-5 relative (the AVX2
// exp is a polynomial, elsewhere libm's); log-sum-exp 1e-5 relative; attention outputs and
// probabilities within 1e-5 absolute (every value here is below 1 in magnitude).
#include "psr_kernels.h"
#include "../../Sources/CKernels/portable.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned state = 12345;
static float uniform(void) {  // in [-0.5, 0.5)
  state = state * 1664525u + 1013904223u;
  return (float)(state >> 8) / 16777216.0f - 0.5f;
}
static unsigned char byte(void) {
  state = state * 1664525u + 1013904223u;
  return (unsigned char)(state >> 13);
}

static int failures = 0, checked = 0;
static FILE *out_file = NULL, *ref_file = NULL;

static void fail(const char *name, int i, double got, double want, double bound) {
  if (failures++ < 20) fprintf(stderr, "FAIL %s[%d]: %.9g, expected %.9g within %.3g\n", name, i, got, want, bound);
}

// Checks values against `exact` within bound[i] (or the scalar `tol` where bound is NULL), then
// writes them or compares them with the reference file's line for `name` within twice that.
static void record(const char *name, const float *v, int n, const double *exact, const double *bound, double tol) {
  for (int i = 0; i < n; i++) {
    const double b = bound ? bound[i] : tol;
    checked++;
    if (!(fabs(v[i] - exact[i]) <= b)) fail(name, i, v[i], exact[i], b);
  }
  // Only the public entry points' outputs cross machines; the x86-only passes stay here.
  if (strstr(name, "_portable") || strstr(name, "_panels")) return;
  if (out_file) {
    fprintf(out_file, "%s %d", name, n);
    for (int i = 0; i < n; i++) fprintf(out_file, " %.9g", v[i]);
    fprintf(out_file, "\n");
  }
  if (ref_file) {
    char line_name[64];
    int count;
    if (fscanf(ref_file, "%63s %d", line_name, &count) != 2 || strcmp(line_name, name) != 0 || count != n) {
      fprintf(stderr, "FAIL %s: the reference file has no such line here\n", name);
      failures++;
      return;
    }
    for (int i = 0; i < n; i++) {
      double r;
      if (fscanf(ref_file, "%lf", &r) != 1) r = NAN;
      const double b = 2 * (bound ? bound[i] : tol);
      checked++;
      char label[96];
      snprintf(label, sizeof label, "%s (against the reference machine)", name);
      if (!(fabs(v[i] - r) <= b)) fail(label, i, v[i], r, b);
    }
  }
}

// y = beta·y0 + x·wᵀ exactly (double), with bound 1e-5·Σ|x·w| (+ the beta term's rounding).
static void exact_product(int m, int n, int k, const float *x, const float *w, const float *y0, float beta, double *exact,
                          double *bound) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0, a = 0;
      for (int t = 0; t < k; t++) s += (double)x[i * k + t] * w[j * k + t], a += fabs((double)x[i * k + t] * w[j * k + t]);
      const double old = beta == 0 ? 0 : (double)beta * y0[i * n + j];
      exact[i * n + j] = old + s;
      bound[i * n + j] = 1e-5 * a + 1e-6 * fabs(old) + 1e-30;
    }
}

static void check_small_gemm(void) {
  enum { M = 3, N = 13, K = 37 };
  float x[M * K], w[N * K], y[M * N], y0[M * N];
  double exact[M * N], bound[M * N];
  for (int i = 0; i < M * K; i++) x[i] = uniform();
  for (int i = 0; i < N * K; i++) w[i] = uniform();
  for (int i = 0; i < M * N; i++) y0[i] = y[i] = uniform();
  psr_small_gemm_nt(M, N, K, x, w, y, 0.5f, 0, N);
  exact_product(M, N, K, x, w, y0, 0.5f, exact, bound);
  record("small_gemm", y, M * N, exact, bound, 0);
#if defined(__x86_64__)
  memcpy(y, y0, sizeof y);
  psr_portable_small_gemm_nt(M, N, K, x, w, y, 0.5f, 0, N);
  record("small_gemm_portable", y, M * N, exact, bound, 0);
#endif
}

static void check_vector_math(void) {
  enum { N = 37 };
  float x[N], g[N], u[N], y[N], v[N + 1];
  double exact[N + 1];
  for (int i = 0; i < N; i++) x[i] = 20 * uniform(), g[i] = 20 * uniform(), u[i] = uniform();
  memcpy(v, x, sizeof x);
  double total = 0;
  for (int i = 0; i < N; i++) exact[i] = exp((double)x[i] - 3), total += exact[i];
  v[N] = psr_exp_shifted(v, N, 3);
  exact[N] = total;
  double bound[N + 1];
  for (int i = 0; i <= N; i++) bound[i] = 1e-5 * fabs(exact[i]);
  record("exp_shifted", v, N + 1, exact, bound, 0);
  double lse = 0, top = -INFINITY;
  for (int i = 0; i < N; i++) top = x[i] > top ? x[i] : top;
  for (int i = 0; i < N; i++) lse += exp(x[i] - top);
  const double lse_exact = top + log(lse), lse_bound = 1e-5 * fabs(lse_exact);
  const float lse_got = psr_log_sum_exp(x, N);
  record("log_sum_exp", &lse_got, 1, &lse_exact, &lse_bound, 0);
  psr_swiglu(g, u, y, N);
  double sw[N], swb[N];
  for (int i = 0; i < N; i++) sw[i] = g[i] / (1 + exp(-(double)g[i])) * u[i], swb[i] = 1e-5 * (fabs(sw[i]) > 1 ? fabs(sw[i]) : 1);
  record("swiglu", y, N, sw, swb, 0);
}

static void check_attention(int hd, float softcap, const char *name) {
  enum { H = 3, T = 19 };
  const int stride = 2 * hd;  // two key/value heads interleaved: this one's rows are every other
  float *q = malloc(sizeof(float) * H * hd), *keys = malloc(sizeof(float) * T * stride);
  float *values = malloc(sizeof(float) * T * stride), *p = malloc(sizeof(float) * H * T);
  float *o = malloc(sizeof(float) * H * hd), *res = malloc(sizeof(float) * (H * T + H * hd));
  double *exact = malloc(sizeof(double) * (H * T + H * hd));
  for (int i = 0; i < H * hd; i++) q[i] = 4 * uniform();
  for (int i = 0; i < T * stride; i++) keys[i] = 4 * uniform(), values[i] = uniform();
  const float scale = 1 / sqrtf((float)hd);
  for (int h = 0; h < H; h++) {
    double s[T], top = -INFINITY, sum = 0;
    for (int j = 0; j < T; j++) {
      double d = 0;
      for (int e = 0; e < hd; e++) d += (double)q[h * hd + e] * keys[j * stride + e];
      s[j] = scale * d;
      if (softcap > 0) s[j] = softcap * tanh(s[j] / softcap);
      top = s[j] > top ? s[j] : top;
    }
    for (int j = 0; j < T; j++) s[j] = exp(s[j] - top), sum += s[j];
    for (int j = 0; j < T; j++) exact[h * T + j] = s[j] / sum;
    for (int e = 0; e < hd; e++) {
      double a = 0;
      for (int j = 0; j < T; j++) a += s[j] / sum * values[j * stride + e];
      exact[H * T + h * hd + e] = a;
    }
  }
  for (int pass = 0; pass < 2; pass++) {
#if !defined(__x86_64__)
    if (pass == 1) break;
#endif
    if (pass == 0)
      psr_attend_one(H, hd, q, keys, values, stride, T, scale, softcap, p, o);
    else
      psr_portable_attend_one(H, hd, q, keys, values, stride, T, scale, softcap, p, o);
    memcpy(res, p, sizeof(float) * H * T);
    memcpy(res + H * T, o, sizeof(float) * H * hd);
    char label[64];
    snprintf(label, sizeof label, "%s%s", name, pass ? "_portable" : "");
    record(label, res, H * T + H * hd, exact, NULL, 1e-5);
  }
  free(q), free(keys), free(values), free(p), free(o), free(res), free(exact);
}

// A block-format product: run(context, packed, portable, y) computes y (beta 0.5 on its old value)
// through the public entry point (packed NULL: the decode kernels; else the panels) or, with
// `portable`, through the portable kernel directly.
typedef void (*product_run)(const void *context, const float *packed, int portable, float *y);

// The entry point, the portable kernel (x86-64 only: elsewhere they are one) and the panels (where
// the CPU runs them), each against the exact sums.
static void check_passes(const char *name, int m, int k, const float *x, product_run run, const void *context, float *y,
                         const float *y0, int count, const double *exact, const double *bound) {
  for (int pass = 0; pass < 3; pass++) {
    char label[64];
    memcpy(y, y0, sizeof(float) * count);
    if (pass == 0) {
      run(context, NULL, 0, y);
      snprintf(label, sizeof label, "%s", name);
    } else if (pass == 1) {
#if defined(__x86_64__)
      run(context, NULL, 1, y);
      snprintf(label, sizeof label, "%s_portable", name);
#else
      continue;
#endif
    } else {
      if (!psr_panel_gemm_supported()) continue;
      float *packed = aligned_alloc(64, sizeof(float) * (size_t)psr_packed_rows_floats(m, k));
      psr_pack_rows(x, k, m, k, 0, (m + 5) / 6, packed);
      run(context, packed, 0, y);
      free(packed);
      snprintf(label, sizeof label, "%s_panels", name);
    }
    record(label, y, count, exact, bound, 0);
  }
}

typedef struct {
  int format, m, n, k;
  const float *x, *scales;
  const unsigned char *bytes;
} block_product;

static void run_quantized(const void *context, const float *packed, int portable, float *y) {
  const block_product *p = context;
  if (portable)
    psr_portable_quantized_gemm_nt(p->format, p->m, p->k, p->x, p->bytes, p->scales, y, p->n, 0.5f, 0, p->n);
  else
    psr_quantized_gemm_nt(p->format, p->m, p->k, p->x, packed, 0, p->bytes, p->scales, y, p->n, 0.5f, 0, p->n);
}

static void run_superblock(const void *context, const float *packed, int portable, float *y) {
  const block_product *p = context;
  if (portable)
    psr_portable_superblock_gemm_nt(p->format, p->m, p->k, p->x, p->bytes, y, p->n, 0.5f, 0, p->n);
  else
    psr_superblock_gemm_nt(p->format, p->m, p->k, p->x, packed, 0, p->bytes, y, p->n, 0.5f, 0, p->n);
}

// Fills a row-major weight matrix from the blocks through the portable expansion (the reference's
// weights), so that the product's exact sum and bound can be formed.
static void check_quantized(int format, const char *name) {
  enum { M = 5, N = 9, K = 96 };
  const int blocks = K / 32, qb = format == PSR_Q4_1 ? 16 : 32, sb = format == PSR_Q8_0 ? 1 : 2;
  unsigned char quants[N * (K / 32) * 32];
  float scales[N * (K / 32) * 2], x[M * K], w[N * K], y[M * N], y0[M * N];
  double exact[M * N], bound[M * N];
  for (int i = 0; i < N * blocks * qb; i++) quants[i] = byte();
  for (int i = 0; i < N * blocks * sb; i++) scales[i] = 0.05f * uniform();
  for (int i = 0; i < M * K; i++) x[i] = uniform();
  for (int i = 0; i < M * N; i++) y0[i] = uniform();
  for (int j = 0; j < N; j++)
    for (int b = 0; b < blocks; b++)
      psr_portable_expand_block32(format, quants + (long)j * blocks * qb, scales + (long)j * blocks * sb, b, w + j * K + 32 * b);
  exact_product(M, N, K, x, w, y0, 0.5f, exact, bound);
  const block_product product = {format, M, N, K, x, scales, quants};
  check_passes(name, M, K, x, run_quantized, &product, y, y0, M * N, exact, bound);
}

static void half_bits(float v, unsigned char *p) {  // v = s·2^e with few mantissa bits, |v| in [2^-10, 1)
  int e;
  const float f = frexpf(v, &e);  // v = f·2^e, |f| in [0.5, 1)
  const unsigned mant = (unsigned)(fabsf(f) * 2048) & 0x3ff, exponent = (unsigned)(e - 1 + 15);
  const unsigned h = (v < 0 ? 0x8000u : 0) | exponent << 10 | mant;
  p[0] = (unsigned char)h, p[1] = (unsigned char)(h >> 8);
}

static void check_superblock(int format, const char *name) {
  enum { M = 5, N = 9, K = 512 };
  const long bytes = psr_superblock_bytes(format);
  const int count = K / 256;
  unsigned char *blocks = malloc((size_t)(N * count * bytes));
  float x[M * K], *w = malloc(sizeof(float) * N * K), y[M * N], y0[M * N];
  double exact[M * N], bound[M * N];
  for (long i = 0; i < N * count * bytes; i++) blocks[i] = byte();
  for (int b = 0; b < N * count; b++) {
    unsigned char *block = blocks + b * bytes;
    if (format == PSR_Q6_K) {
      half_bits(0.001f + 0.01f * (uniform() + 0.5f), block + 208);
    } else {
      half_bits(0.001f + 0.01f * (uniform() + 0.5f), block);
      half_bits(0.001f + 0.01f * (uniform() + 0.5f), block + 2);
    }
  }
  for (int i = 0; i < M * K; i++) x[i] = uniform();
  for (int i = 0; i < M * N; i++) y0[i] = uniform();
  for (int j = 0; j < N; j++)
    for (int b = 0; b < count; b++) psr_portable_expand_superblock(format, blocks + (j * count + b) * bytes, w + j * K + 256 * b);
  exact_product(M, N, K, x, w, y0, 0.5f, exact, bound);
  const block_product product = {format, M, N, K, x, NULL, blocks};
  check_passes(name, M, K, x, run_superblock, &product, y, y0, M * N, exact, bound);
  free(blocks), free(w);
}

// q8_K quantization (portable C, so the same bytes on every machine): each value d·a within |d|/2 of
// x, the group sums those of the values; and gelu_glu against the formula. Where the CPU has the
// 8-bit products (x86 with VNNI), they are checked against the exact sum over the quantized
// activations (not compared across machines: elsewhere they return 0).
static void check_q8k_rows(int M, const char *suffix) {
  enum { MAX_M = 19, N = 9, K = 512 };
  float x[MAX_M * K], values[MAX_M * K];
  double exact[MAX_M * K], bound[MAX_M * K];
  char name[64];
  // Its own random stream: the product check below draws numbers only where the CPU runs it, so
  // that what follows would otherwise differ between the machines compared.
  state = 4242u + (unsigned)M;
  for (int i = 0; i < M * K; i++) x[i] = 3 * uniform();
  x[K + 17] = -9;  // a block whose scale a negative value sets
  for (int f = 0; f < 3; f++) {
    const int format = f == 0 ? PSR_Q4_K : f == 1 ? PSR_Q5_K : PSR_Q6_K;
    unsigned char *q = aligned_alloc(64, (size_t)psr_q8k_rows_bytes(M, K));
    psr_quantize_rows_q8k(format, M, K, x, q, 0, M);
    for (int b = 0; b < M * K / 256; b++) {
      float d;
      signed char a[256];
      short sums[16];
      psr_q8k_read_block(q, M, K, b / (K / 256), b % (K / 256), format, &d, a, sums);
      int sums_ok = 1;
      const int span = format == PSR_Q6_K ? 16 : 32;
      for (int g = 0; g < 16; g++) {
        int sum = 0;
        for (int t = span * g; t < span * g + span && t < 256; t++) sum += a[t];
        sums_ok &= sums[g] == sum;
      }
      checked++;
      if (!sums_ok) fail(M < 16 ? "q8k_bsums" : "q8k_bsums_grouped", b, 0, 1, 0);
      for (int t = 0; t < 256; t++) {
        values[256 * b + t] = d * (float)a[t];
        exact[256 * b + t] = x[256 * b + t];
        bound[256 * b + t] = fabs(d) * 0.5000001 + 1e-30;
      }
    }
    snprintf(name, sizeof name, "%s%s", f == 0 ? "q8k_quantize_q4k" : f == 1 ? "q8k_quantize_q5k" : "q8k_quantize_q6k", suffix);
    record(name, values, M * K, exact, bound, 0);
    if (psr_q8_gemm_supported()) {
      const long bytes = psr_superblock_bytes(format);
      unsigned char *blocks = malloc((size_t)(N * 2 * bytes));
      float *w = malloc(sizeof(float) * N * K), y[MAX_M * N];
      double e[MAX_M * N], bd[MAX_M * N];
      for (long i = 0; i < N * 2 * bytes; i++) blocks[i] = byte();
      for (int b = 0; b < N * 2; b++) {
        if (format == PSR_Q6_K) half_bits(0.001f + 0.01f * (uniform() + 0.5f), blocks + b * bytes + 208);
        else half_bits(0.001f + 0.01f * (uniform() + 0.5f), blocks + b * bytes), half_bits(0.001f + 0.01f * (uniform() + 0.5f), blocks + b * bytes + 2);
      }
      for (int j = 0; j < N; j++)
        for (int b = 0; b < 2; b++) psr_portable_expand_superblock(format, blocks + (j * 2 + b) * bytes, w + j * K + 256 * b);
      for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
          double sum = 0, magnitude = 0;
          for (int t = 0; t < K; t++) sum += (double)values[i * K + t] * w[j * K + t], magnitude += fabs((double)values[i * K + t] * w[j * K + t]);
          e[i * N + j] = sum, bd[i * N + j] = 1e-5 * 3 * magnitude + 1e-6;
        }
      if (psr_superblock_q8_gemm_nt(format, M, K, q, blocks, y, N, 0, 0, N))
      {
        snprintf(name, sizeof name, "%s%s", f == 0 ? "q8k_gemm_q4k_panels" : f == 1 ? "q8k_gemm_q5k_panels" : "q8k_gemm_q6k_panels", suffix);
        record(name, y, M * N, e, bd, 0);
      }
      free(blocks), free(w);
    } else {
      checked++;
      if (psr_superblock_q8_gemm_nt(format, M, K, q, NULL, NULL, N, 0, 0, N) != 0) fail("q8k_gemm_unsupported", f, 1, 0, 0);
    }
    free(q);
  }
}

// q8_K below 16 rows (one block a row) and from 16 (groups of 16 rows, the last padded), then
// gelu_glu against the formula.
static void check_q8k(void) {
  check_q8k_rows(3, "");
  check_q8k_rows(19, "_grouped");
  enum { G = 37 };
  float g[G], u[G], y[G];
  double e[G], bd[G];
  for (int i = 0; i < G; i++) {
    g[i] = -12 + 24.0f * i / (G - 1), u[i] = 0.5f + (float)(i % 5);
    const double t = tanh(0.7978845608028654 * (g[i] + 0.044715 * g[i] * g[i] * g[i]));
    e[i] = 0.5 * g[i] * (1 + t) * u[i];
    bd[i] = (0.5 * fabs(g[i]) * 3e-7 + 1e-7 * fabs(0.5 * g[i] * (1 + t))) * u[i] + 1e-30;
  }
  psr_gelu_glu(g, u, y, G);
  record("gelu_glu", y, G, e, bd, 0);
}

// The 512-bit products: checked against the exact sums where the CPU runs them; elsewhere each must
// say so (return 0) and leave its output as it was, so that the caller runs OpenBLAS.
static void check_wide_products(void) {
  enum { M = 7, N = 11, K = 45 };
  float x[M * K], w[N * K], y[M * N], y0[M * N];
  double exact[M * N], bound[M * N];
  unsigned short w16[N * K], wb16[N * K];
  for (int i = 0; i < M * K; i++) x[i] = uniform();
  for (int i = 0; i < N * K; i++) {
    // Weights exact in fp16 and bf16 alike (8 significant bits, exponents in range).
    float v = roundf(uniform() * 256) / 256;
    w[i] = v;
    unsigned bits;
    memcpy(&bits, &v, 4);
    wb16[i] = (unsigned short)(bits >> 16);
    unsigned char h[2];
    if (v == 0) h[0] = h[1] = 0; else half_bits(v, h);
    w16[i] = (unsigned short)(h[0] | h[1] << 8);
  }
  for (int i = 0; i < M * N; i++) y0[i] = uniform();
  exact_product(M, N, K, x, w, y0, 0.5f, exact, bound);
  const int wide = psr_panel_gemm_supported();
  float *packed = aligned_alloc(64, sizeof(float) * (size_t)psr_packed_rows_floats(M, K));
  if (wide) psr_pack_rows(x, K, M, K, 0, (M + 5) / 6, packed);
  const char *names[8] = {"dense_gemm", "float_rows_f32", "float_rows_f16", "float_rows_bf16", "outer_gemm",
                          "float_rows_gemv_f32", "float_rows_gemv_f16", "float_rows_gemv_bf16"};
  static float panels[3][M * N];
  for (int c = 0; c < 8; c++) {
    memcpy(y, y0, sizeof y);
    int ran;
    const void *rows[3] = {w, w16, wb16};
    if (c == 0) ran = psr_dense_gemm_nt(M, K, packed, 0, w, K, y, N, 1, 0.5f, 0, N);
    else if (c < 4) ran = psr_float_rows_gemm_nt(c - 1, M, K, packed, 0, rows[c - 1], y, N, 0.5f, 0, N);
    else if (c == 4) ran = psr_outer_gemm(0, 1, K, 1, x, K, w, K, 0.5f, y, N, 0, M, 0, N, 0);  // x·wᵀ as an outer product
    else ran = psr_float_rows_gemv(c - 5, M, K, packed, 0, rows[c - 5], y, N, 0.5f, 0, N);
    const char *name = names[c];
    if (ran && c >= 1 && c < 4) memcpy(panels[c - 1], y, sizeof y);
    if (ran && c >= 5 && memcmp(panels[c - 5], y, sizeof y) != 0) {
      fprintf(stderr, "FAIL %s: not the bits of the panel product\n", name);
      failures++;
    }
    checked++;
    if (ran != wide) {
      fprintf(stderr, "FAIL %s: returned %d where the panel products are %ssupported\n", name, ran, wide ? "" : "not ");
      failures++;
    } else if (ran) {
      // x86-64 only, so not written to the cross-machine reference.
      FILE *saved_out = out_file, *saved_ref = ref_file;
      out_file = ref_file = NULL;
      record(name, y, M * N, exact, bound, 0);
      out_file = saved_out, ref_file = saved_ref;
    } else if (memcmp(y, y0, sizeof y) != 0) {
      fprintf(stderr, "FAIL %s: wrote its output while reporting that it did not run\n", name);
      failures++;
    }
  }
  free(packed);
}

// x rounded to bf16 as vcvtne2ps2bf16 rounds (to nearest even; these inputs are finite and normal).
static float bf16_round(float x) {
  unsigned bits;
  memcpy(&bits, &x, 4);
  bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000u;
  memcpy(&x, &bits, 4);
  return x;
}

// The bf16 products: against the exact sums of the bf16-rounded operands, summed in fp32 (the
// bound of the fp32 products); they must also miss the unrounded sums somewhere, so that a product
// that ignored bf16 fails. Shapes cross a KC step, a 32-column chunk and partial tiles. Elsewhere
// each says it did not run and leaves its output alone.
static void check_bf16_products(int M, int N, int K) {
  float *x = malloc(sizeof(float) * M * K), *w = malloc(sizeof(float) * N * K), *wt = malloc(sizeof(float) * N * K);
  float *xr = malloc(sizeof(float) * M * K), *wr = malloc(sizeof(float) * N * K);
  float *y = malloc(sizeof(float) * M * N), *y0 = malloc(sizeof(float) * M * N);
  double *exact = malloc(sizeof(double) * M * N), *bound = malloc(sizeof(double) * M * N);
  double *unrounded = malloc(sizeof(double) * M * N), *loose = malloc(sizeof(double) * M * N);
  for (int i = 0; i < M * K; i++) x[i] = uniform(), xr[i] = bf16_round(x[i]);
  for (int i = 0; i < N * K; i++) w[i] = uniform(), wr[i] = bf16_round(w[i]);
  for (int j = 0; j < N; j++)
    for (int t = 0; t < K; t++) wt[t * N + j] = w[j * K + t];
  for (int i = 0; i < M * N; i++) y0[i] = uniform();
  exact_product(M, N, K, xr, wr, y0, 0.5f, exact, bound);
  exact_product(M, N, K, x, w, y0, 0.5f, unrounded, loose);
  const int bf16 = psr_bf16_gemm_supported();
  float *packed = aligned_alloc(64, sizeof(float) * (size_t)psr_packed_rows_bf16_floats(M, K));
  if (bf16) psr_pack_rows_bf16(x, K, M, K, 0, (M + 5) / 6, packed);
  const char *names[3] = {"dense_gemm_bf16", "outer_gemm_bf16_nt", "outer_gemm_bf16_nn"};
  for (int c = 0; c < 3; c++) {
    memcpy(y, y0, sizeof(float) * M * N);
    int ran;
    if (c == 0) ran = psr_dense_gemm_nt(M, K, packed, 1, w, K, y, N, 1, 0.5f, 0, N);
    else if (c == 1) ran = psr_outer_gemm(0, 1, K, 1, x, K, w, K, 0.5f, y, N, 0, M, 0, N, 1);
    else ran = psr_outer_gemm(0, 0, K, 1, x, K, wt, N, 0.5f, y, N, 0, M, 0, N, 1);
    checked++;
    if (ran != bf16) {
      fprintf(stderr, "FAIL %s: returned %d where the bf16 products are %ssupported\n", names[c], ran, bf16 ? "" : "not ");
      failures++;
    } else if (ran) {
      // x86-64 only, so not written to the cross-machine reference.
      FILE *saved_out = out_file, *saved_ref = ref_file;
      out_file = ref_file = NULL;
      record(names[c], y, M * N, exact, bound, 0);
      out_file = saved_out, ref_file = saved_ref;
      int missed = 0;
      for (int i = 0; i < M * N; i++) missed |= fabs(y[i] - unrounded[i]) > loose[i];
      checked++;
      if (!missed) {
        fprintf(stderr, "FAIL %s: equals the unrounded fp32 product: the operands were not rounded to bf16\n", names[c]);
        failures++;
      }
    } else if (memcmp(y, y0, sizeof(float) * M * N) != 0) {
      fprintf(stderr, "FAIL %s: wrote its output while reporting that it did not run\n", names[c]);
      failures++;
    }
  }
  free(packed), free(x), free(w), free(wt), free(xr), free(wr), free(y), free(y0), free(exact), free(bound);
  free(unrounded), free(loose);
}

static void square(void *ctx, int p) { ((int *)ctx)[p] = p * p; }

static void check_pool(void) {
  int parts[23] = {0};
  if (!psr_pool_run(23, square, parts))
    for (int p = 0; p < 23; p++) square(parts, p);
  for (int p = 0; p < 23; p++) {
    checked++;
    if (parts[p] != p * p) fail("pool_run", p, parts[p], p * p, 0);
  }
  const long expected[3] = {144, 176, 210};
  const int formats[3] = {PSR_Q4_K, PSR_Q5_K, PSR_Q6_K};
  for (int f = 0; f < 3; f++) {
    checked++;
    if (psr_superblock_bytes(formats[f]) != expected[f]) fail("superblock_bytes", f, psr_superblock_bytes(formats[f]), expected[f], 0);
  }
}

// q8_0/q8_1-style quantization of activations per 32 values (portable C): each value dx·a within
// |dx|/2 of x, the stored dx·Σa that of the values; where the CPU has the 8-bit products, the
// 32-weight block formats against the exact sums over the quantized activations, for one row (the
// decode kernel), several (the tiles), and an odd number of blocks (a half pair at each row's end).
static void check_q8b(int k) {
  enum { M = 5, N = 9 };
  state = 4242u + (unsigned)k;  // the x86-only checks before this one draw numbers that others do not
  const int blocks = k / 32;
  float *x = malloc(sizeof(float) * M * k), *values = malloc(sizeof(float) * M * k);
  double *exact = malloc(sizeof(double) * M * k), *bound = malloc(sizeof(double) * M * k);
  for (int i = 0; i < M * k; i++) x[i] = 3 * uniform();
  x[k + 40] = -9;  // a block whose scale a negative value sets
  for (int t = 0; t < 32; t++) x[2 * k + t] = 0;  // a block of zeros: scale 0
  const int formats[3] = {PSR_Q4_1, PSR_Q8_0, PSR_Q8_1};
  const char *names[3] = {"q4_1", "q8_0", "q8_1"};
  for (int f = 0; f < 3; f++) {
    const int format = formats[f];
    unsigned char *q = aligned_alloc(64, (size_t)psr_q8b_rows_bytes(M, k));
    psr_quantize_rows_q8b(format, M, k, x, q);
    for (int i = 0; i < M; i++)
      for (int b = 0; b < blocks; b++) {
        float d, sum;
        signed char a[32];
        psr_q8b_read_block(q, k, i, b, format, &d, &sum, a);
        int total = 0;
        for (int t = 0; t < 32; t++) {
          const long at = (long)i * k + 32L * b + t;
          values[at] = d * (float)a[t], exact[at] = x[at], bound[at] = fabs(d) * 0.5000001 + 1e-30;
          total += a[t];
        }
        checked++;
        if (!(fabs(sum - d * (double)total) <= 1e-6 * fabs(d * (double)total))) fail("q8b_sums", i * blocks + b, sum, d * total, 0);
      }
    char label[64];
    snprintf(label, sizeof label, "q8b_quantize_%s_k%d", names[f], k);
    record(label, values, M * k, exact, bound, 0);
    const int qbytes = format == PSR_Q4_1 ? 16 : 32, nscales = format == PSR_Q8_0 ? 1 : 2;
    unsigned char *quants = malloc((size_t)N * blocks * qbytes);
    float *scales = malloc(sizeof(float) * N * blocks * nscales), *w = malloc(sizeof(float) * N * k);
    for (long i = 0; i < (long)N * blocks * qbytes; i++) quants[i] = format == PSR_Q8_1 ? byte() % 32 : byte();
    for (long i = 0; i < (long)N * blocks * nscales; i++) scales[i] = i % 2 && nscales == 2 ? -0.1f * (uniform() + 0.5f) : 0.002f + 0.01f * (uniform() + 0.5f);
    for (int j = 0; j < N; j++)
      for (int b = 0; b < blocks; b++) {
        const unsigned char *qb = quants + ((long)j * blocks + b) * qbytes;
        const float *sb = scales + ((long)j * blocks + b) * nscales;
        for (int t = 0; t < 32; t++) {
          const double v = format == PSR_Q4_1 ? (t < 16 ? qb[t] & 15 : qb[t - 16] >> 4) : format == PSR_Q8_0 ? (signed char)qb[t] : qb[t];
          w[(long)j * k + 32 * b + t] = (float)(sb[0] * v + (nscales == 2 ? sb[1] : 0));
        }
      }
    for (int rows = 1; rows <= M; rows += M - 1) {
      float *y = malloc(sizeof(float) * rows * N);
      double *e = malloc(sizeof(double) * rows * N), *bd = malloc(sizeof(double) * rows * N);
      for (int i = 0; i < rows; i++)
        for (int j = 0; j < N; j++) {
          double sum = 0, magnitude = 0;
          for (int t = 0; t < k; t++) {
            const double p = (double)values[(long)i * k + t] * w[(long)j * k + t];
            sum += p, magnitude += fabs(p);
          }
          e[i * N + j] = 0.5 + sum, bd[i * N + j] = 1e-5 * 3 * magnitude + 1e-6;
          y[i * N + j] = 1;
        }
      snprintf(label, sizeof label, "q8b_gemm_%s_k%d_m%d_panels", names[f], k, rows);
      if (psr_q8_gemm_supported()) {
        checked++;
        if (!psr_quantized_q8_gemm_nt(format, rows, k, q, quants, scales, y, N, 0.5f, 0, N)) fail(label, 0, 0, 1, 0);
        record(label, y, rows * N, e, bd, 0);
      } else {
        checked++;
        if (psr_quantized_q8_gemm_nt(format, rows, k, q, quants, scales, y, N, 0.5f, 0, N) != 0) fail("q8b_gemm_unsupported", f, 1, 0, 0);
      }
      free(y), free(e), free(bd);
    }
    free(q), free(quants), free(scales), free(w);
  }
  free(x), free(values), free(exact), free(bound);
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "--write") != 0 && strcmp(argv[1], "--compare") != 0)) {
    fprintf(stderr, "usage: kernel_check --write FILE | --compare FILE\n");
    return 2;
  }
  if (strcmp(argv[1], "--write") == 0 ? !(out_file = fopen(argv[2], "w")) : !(ref_file = fopen(argv[2], "r"))) {
    fprintf(stderr, "kernel_check: cannot open %s\n", argv[2]);
    return 2;
  }
  check_small_gemm();
  check_vector_math();
  check_attention(64, 0, "attend_hd64");
  check_attention(12, 30, "attend_hd12_softcap");
  check_quantized(PSR_Q4_1, "q4_1");
  check_quantized(PSR_Q8_0, "q8_0");
  check_quantized(PSR_Q8_1, "q8_1");
  check_superblock(PSR_Q4_K, "q4_k");
  check_superblock(PSR_Q5_K, "q5_k");
  check_superblock(PSR_Q6_K, "q6_k");
  check_q8k();
  check_q8b(576);
  check_q8b(352);
  check_wide_products();
  check_bf16_products(7, 11, 45);
  check_bf16_products(30, 70, 600);
  check_bf16_products(13, 40, 1100);
  check_pool();
  if (out_file) fclose(out_file);
  if (ref_file) fclose(ref_file);
  printf("kernel_check: %d values checked, %d failed (avx2 %d, 512-bit panels %d)\n", checked, failures, psr_has_avx2_fma(),
         psr_panel_gemm_supported());
  return failures ? 1 : 0;
}
