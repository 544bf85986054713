// x86-64 only: elsewhere portable.c defines these entry points.
#if defined(__x86_64__)
#include "psr_kernels.h"
#include "panel_gemm.h"
#include "portable.h"
#include "simd_sums.h"

#include <immintrin.h>
#include <stdint.h>

// Products with weights kept in their GGUF block quantization. Each 32-weight block is
// expanded to fp32 in registers (exactly the values Dequantize produces: d·q fits in fp32's
// mantissa, so d·q + m rounds once either way) and multiplied with fp32 activations, so the
// result equals the fp32 product up to summation order while reading 4–7× fewer bytes.

typedef struct {
  __m256 w0, w1, w2, w3;
} block32;

__attribute__((target("avx2,fma"), always_inline)) static inline block32 expand_q4_1(const uint8_t *q, const float *s) {
  const __m128i mask = _mm_set1_epi8(0x0F);
  __m128i raw = _mm_loadu_si128((const __m128i *)q);
  __m128i lo = _mm_and_si128(raw, mask), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
  __m256 d = _mm256_set1_ps(s[0]), m = _mm256_set1_ps(s[1]);
  block32 b;
  b.w0 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), m);
  b.w1 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), m);
  b.w2 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), m);
  b.w3 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), m);
  return b;
}

__attribute__((target("avx2,fma"), always_inline)) static inline block32 expand_q8_0(const uint8_t *q, const float *s) {
  __m128i a = _mm_loadu_si128((const __m128i *)q), c = _mm_loadu_si128((const __m128i *)(q + 16));
  __m256 d = _mm256_set1_ps(s[0]);
  block32 b;
  b.w0 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(a)));
  b.w1 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(a, 8))));
  b.w2 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c)));
  b.w3 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c, 8))));
  return b;
}

// R activation rows against W weight rows. With few rows the four sub-vectors of a block go
// to separate accumulators (S) so that the FMAs do not wait on each other. TARGET adds
// AVX-512VL where present: the same 256-bit code, with 32 registers instead of 16.
__attribute__((target("avx2,fma"), always_inline)) static inline block32 expand_q8_1(const uint8_t *q, const float *s) {
  __m128i a = _mm_loadu_si128((const __m128i *)q), c = _mm_loadu_si128((const __m128i *)(q + 16));
  __m256 d = _mm256_set1_ps(s[0]), m = _mm256_set1_ps(s[1]);
  block32 b;
  b.w0 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(a)), m);
  b.w1 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(a, 8))), m);
  b.w2 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c)), m);
  b.w3 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c, 8))), m);
  return b;
}

#define DEFINE_ROWS(NAME, TARGET, EXPAND, R, W, S, QBYTES, SCALES)                                              \
  __attribute__((target(TARGET))) static void NAME(                                                            \
      int k, const float *const *x, const uint8_t *q, const float *s, long qstride, long sstride, float *out) { \
    __m256 acc[W][R][S];                                                                                       \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                                                                \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                                                                              \
        _Pragma("clang loop unroll(full)") for (int u = 0; u < S; u++) acc[w][r][u] = _mm256_setzero_ps();                                       \
    for (int t = 0; t < k; t += 32, q += QBYTES, s += SCALES) {                                                \
      block32 b[W];                                                                                            \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) b[w] = EXPAND(q + w * qstride, s + w * sstride);                             \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                            \
        const float *xr = x[r] + t;                                                                            \
        __m256 x0 = _mm256_loadu_ps(xr), x1 = _mm256_loadu_ps(xr + 8);                                         \
        __m256 x2 = _mm256_loadu_ps(xr + 16), x3 = _mm256_loadu_ps(xr + 24);                                   \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                                                          \
          acc[w][r][0 % S] = _mm256_fmadd_ps(x0, b[w].w0, acc[w][r][0 % S]);                                   \
          acc[w][r][1 % S] = _mm256_fmadd_ps(x1, b[w].w1, acc[w][r][1 % S]);                                   \
          acc[w][r][2 % S] = _mm256_fmadd_ps(x2, b[w].w2, acc[w][r][2 % S]);                                   \
          acc[w][r][3 % S] = _mm256_fmadd_ps(x3, b[w].w3, acc[w][r][3 % S]);                                   \
        }                                                                                                      \
      }                                                                                                        \
    }                                                                                                          \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                                                                \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                            \
        __m256 v = acc[w][r][0];                                                                               \
        _Pragma("clang loop unroll(full)") for (int u = 1; u < S; u++) v = _mm256_add_ps(v, acc[w][r][u]);                                        \
        out[w * 8 + r] = psr_hsum8(v);                                                                             \
      }                                                                                                        \
  }

#define AVX2 "avx2,fma"
#define AVX512 "avx2,fma,avx512f,avx512vl"
DEFINE_ROWS(q4_1_rows1, AVX2, expand_q4_1, 1, 1, 1, 16, 2)
DEFINE_ROWS(q4_1_rows2, AVX2, expand_q4_1, 2, 1, 1, 16, 2)
DEFINE_ROWS(q4_1_rows4, AVX2, expand_q4_1, 4, 1, 1, 16, 2)
DEFINE_ROWS(q4_1_rows8, AVX2, expand_q4_1, 8, 1, 1, 16, 2)
DEFINE_ROWS(q8_0_rows1, AVX2, expand_q8_0, 1, 1, 1, 32, 1)
DEFINE_ROWS(q8_0_rows2, AVX2, expand_q8_0, 2, 1, 1, 32, 1)
DEFINE_ROWS(q8_0_rows4, AVX2, expand_q8_0, 4, 1, 1, 32, 1)
DEFINE_ROWS(q8_0_rows8, AVX2, expand_q8_0, 8, 1, 1, 32, 1)


DEFINE_ROWS(q8_1_rows1, AVX2, expand_q8_1, 1, 1, 1, 32, 2)
DEFINE_ROWS(q8_1_rows2, AVX2, expand_q8_1, 2, 1, 1, 32, 2)
DEFINE_ROWS(q8_1_rows4, AVX2, expand_q8_1, 4, 1, 1, 32, 2)
DEFINE_ROWS(q8_1_rows8, AVX2, expand_q8_1, 8, 1, 1, 32, 2)
DEFINE_ROWS(q8_1_rows1x2, AVX512, expand_q8_1, 1, 2, 1, 32, 2)
DEFINE_ROWS(q8_1_rows2x2, AVX512, expand_q8_1, 2, 2, 1, 32, 2)
DEFINE_ROWS(q8_1_rows4x2, AVX512, expand_q8_1, 4, 2, 1, 32, 2)
DEFINE_ROWS(q8_1_rows8x2, AVX512, expand_q8_1, 8, 2, 1, 32, 2)

DEFINE_ROWS(q4_1_rows1x2, AVX512, expand_q4_1, 1, 2, 1, 16, 2)
DEFINE_ROWS(q4_1_rows2x2, AVX512, expand_q4_1, 2, 2, 1, 16, 2)
DEFINE_ROWS(q4_1_rows4x2, AVX512, expand_q4_1, 4, 2, 1, 16, 2)
DEFINE_ROWS(q4_1_rows8x2, AVX512, expand_q4_1, 8, 2, 1, 16, 2)
DEFINE_ROWS(q8_0_rows1x2, AVX512, expand_q8_0, 1, 2, 1, 32, 1)
DEFINE_ROWS(q8_0_rows2x2, AVX512, expand_q8_0, 2, 2, 1, 32, 1)
DEFINE_ROWS(q8_0_rows4x2, AVX512, expand_q8_0, 4, 2, 1, 32, 1)
DEFINE_ROWS(q8_0_rows8x2, AVX512, expand_q8_0, 8, 2, 1, 32, 1)

typedef struct {
  __m512 w0, w1;
} block32z;

#define AVX512F "avx2,fma,avx512f,avx512vl,avx512bw"

__attribute__((target(AVX512F), always_inline)) static inline block32z expand_q4_1_z(const uint8_t *q, const float *s) {
  const __m128i mask = _mm_set1_epi8(0x0F);
  __m128i raw = _mm_loadu_si128((const __m128i *)q);
  __m128i lo = _mm_and_si128(raw, mask), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
  __m512 d = _mm512_set1_ps(s[0]), m = _mm512_set1_ps(s[1]);
  block32z b;
  b.w0 = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(lo)), m);
  b.w1 = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(hi)), m);
  return b;
}

__attribute__((target(AVX512F), always_inline)) static inline block32z expand_q8_0_z(const uint8_t *q, const float *s) {
  __m512 d = _mm512_set1_ps(s[0]);
  block32z b;
  b.w0 = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)q))));
  b.w1 = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(q + 16)))));
  return b;
}

__attribute__((target(AVX512F), always_inline)) static inline block32z expand_q8_1_z(const uint8_t *q, const float *s) {
  __m512 d = _mm512_set1_ps(s[0]), m = _mm512_set1_ps(s[1]);
  block32z b;
  b.w0 = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)q))), m);
  b.w1 = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + 16)))), m);
  return b;
}

__attribute__((target(AVX512F), always_inline)) static inline __m256 upper_half(__m512 v) {
  return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}


#define PREFETCH_BLOCKS 16
// Groups of W rows ahead that prefetch_ahead also fetches into L2 (as q8_block32_gemm.c's
// Q8B_FAR_ROWS): default-model fp32 decoding 131–133 → 146–160 tok/s (experiments/bench).
#ifndef FAR_GROUPS
#define FAR_GROUPS 2
#endif

// Block b + PREFETCH_BLOCKS of each of the W weight rows starting at q0 and s0, once per cache
// line, or the same row of the next W (which the caller takes next) where the row ends first.
// The hardware prefetcher alone left weights read from DRAM at half their speed from L3 (Q8_0 at
// 15 against 33 G weights/s on two cores). A prefetch never faults, past the last row included.
__attribute__((always_inline)) static inline void prefetch_ahead(
    int b, int count, int W, const uint8_t *q0, int qbytes, long qstride, const float *s0, int nscales,
    long sstride) {
  const int ahead = b + PREFETCH_BLOCKS, row = ahead < count ? 0 : W, at = ahead < count ? ahead : ahead - count;
  const int quantLine = 64 / qbytes, scaleLine = 16 / nscales;
  if (ahead % quantLine == 0)
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)
      _mm_prefetch((const char *)((uintptr_t)q0 + (w + row) * qstride + (long)at * qbytes), _MM_HINT_T0);
  if (ahead % scaleLine == 0)
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)
      _mm_prefetch((const char *)((uintptr_t)s0 + 4 * ((w + row) * sstride + (long)at * nscales)), _MM_HINT_T0);
  // And into L2, the same place FAR_GROUPS groups of W rows on.
  if (b % quantLine == 0)
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)
      _mm_prefetch((const char *)((uintptr_t)q0 + (w + FAR_GROUPS * W) * qstride + (long)b * qbytes), _MM_HINT_T1);
  if (b % scaleLine == 0)
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)
      _mm_prefetch((const char *)((uintptr_t)s0 + 4 * ((w + FAR_GROUPS * W) * sstride + (long)b * nscales)), _MM_HINT_T1);
}

// The same product with 512-bit vectors: half the instructions for the block expansion and
// the FMAs, which is what limits the 256-bit kernels (Zen 4 splits each 512-bit op in two,
// so the FMA rate itself is unchanged).
#define DEFINE_ROWS_Z(NAME, EXPAND, R, W, S, QBYTES, SCALES)                                                    \
  __attribute__((target(AVX512F))) static void NAME(                                                           \
      int k, const float *const *x, const uint8_t *q, const float *s, long qstride, long sstride, float *out) { \
    __m512 acc[W][R][S];                                                                                       \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                                                                \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                                                                              \
        _Pragma("clang loop unroll(full)") for (int u = 0; u < S; u++) acc[w][r][u] = _mm512_setzero_ps();                                       \
    const uint8_t *const q0 = q;                                                                               \
    const float *const s0 = s;                                                                                 \
    for (int t = 0; t < k; t += 32, q += QBYTES, s += SCALES) {                                                \
      block32z b[W];                                                                                           \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) b[w] = EXPAND(q + w * qstride, s + w * sstride);                             \
      prefetch_ahead(t / 32, k / 32, W, q0, QBYTES, qstride, s0, SCALES, sstride);                             \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                            \
        __m512 x0 = _mm512_loadu_ps(x[r] + t), x1 = _mm512_loadu_ps(x[r] + t + 16);                            \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                                                          \
          acc[w][r][0 % S] = _mm512_fmadd_ps(x0, b[w].w0, acc[w][r][0 % S]);                                   \
          acc[w][r][1 % S] = _mm512_fmadd_ps(x1, b[w].w1, acc[w][r][1 % S]);                                   \
        }                                                                                                      \
      }                                                                                                        \
    }                                                                                                          \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                                                              \
      __m256 h[8];                                                                                             \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                            \
        __m512 v = acc[w][r][0];                                                                               \
        _Pragma("clang loop unroll(full)") for (int u = 1; u < S; u++) v = _mm512_add_ps(v, acc[w][r][u]);                                        \
        h[r] = _mm256_add_ps(_mm512_castps512_ps256(v), upper_half(v));                                        \
      }                                                                                                        \
      if (R == 8) {                                                                                            \
        _mm256_storeu_ps(out + w * 8, psr_hsum8x8(h));                                                             \
      } else {                                                                                                 \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) out[w * 8 + r] = psr_hsum8(h[r]);                                              \
      }                                                                                                        \
    }                                                                                                          \
  }

DEFINE_ROWS_Z(q4_1_rows1z, expand_q4_1_z, 1, 2, 1, 16, 2)
DEFINE_ROWS_Z(q4_1_rows2z, expand_q4_1_z, 2, 2, 1, 16, 2)
DEFINE_ROWS_Z(q4_1_rows4z, expand_q4_1_z, 4, 2, 1, 16, 2)
DEFINE_ROWS_Z(q4_1_rows8z, expand_q4_1_z, 8, 2, 1, 16, 2)
DEFINE_ROWS_Z(q8_0_rows1z, expand_q8_0_z, 1, 2, 1, 32, 1)
DEFINE_ROWS_Z(q8_0_rows2z, expand_q8_0_z, 2, 2, 1, 32, 1)
DEFINE_ROWS_Z(q8_0_rows4z, expand_q8_0_z, 4, 2, 1, 32, 1)
DEFINE_ROWS_Z(q8_0_rows8z, expand_q8_0_z, 8, 2, 1, 32, 1)
DEFINE_ROWS_Z(q8_1_rows1z, expand_q8_1_z, 1, 2, 1, 32, 2)
DEFINE_ROWS_Z(q8_1_rows2z, expand_q8_1_z, 2, 2, 1, 32, 2)
DEFINE_ROWS_Z(q8_1_rows4z, expand_q8_1_z, 4, 2, 1, 32, 2)
DEFINE_ROWS_Z(q8_1_rows8z, expand_q8_1_z, 8, 2, 1, 32, 2)

// One activation row against four weight rows: four independent sums keep the FMA units busy
// where a single row would wait on one accumulator.
DEFINE_ROWS(q4_1_quad, AVX2, expand_q4_1, 1, 4, 1, 16, 2)
DEFINE_ROWS(q8_0_quad, AVX2, expand_q8_0, 1, 4, 1, 32, 1)
DEFINE_ROWS_Z(q4_1_quadz, expand_q4_1_z, 1, 8, 1, 16, 2)
DEFINE_ROWS_Z(q8_0_quadz, expand_q8_0_z, 1, 8, 1, 32, 1)
DEFINE_ROWS(q8_1_quad, AVX2, expand_q8_1, 1, 4, 1, 32, 2)
DEFINE_ROWS_Z(q8_1_quadz, expand_q8_1_z, 1, 8, 1, 32, 2)

typedef void (*rows_kernel)(int, const float *const *, const uint8_t *, const float *, long, long, float *);

// [format][weight rows - 1][log2 activation rows]
static const rows_kernel kernels[3][2][4] = {
    {{q4_1_rows1, q4_1_rows2, q4_1_rows4, q4_1_rows8}, {q4_1_rows1x2, q4_1_rows2x2, q4_1_rows4x2, q4_1_rows8x2}},
    {{q8_0_rows1, q8_0_rows2, q8_0_rows4, q8_0_rows8}, {q8_0_rows1x2, q8_0_rows2x2, q8_0_rows4x2, q8_0_rows8x2}},
    {{q8_1_rows1, q8_1_rows2, q8_1_rows4, q8_1_rows8}, {q8_1_rows1x2, q8_1_rows2x2, q8_1_rows4x2, q8_1_rows8x2}},
};
static const rows_kernel kernels_z[3][4] = {
    {q4_1_rows1z, q4_1_rows2z, q4_1_rows4z, q4_1_rows8z},
    {q8_0_rows1z, q8_0_rows2z, q8_0_rows4z, q8_0_rows8z},
    {q8_1_rows1z, q8_1_rows2z, q8_1_rows4z, q8_1_rows8z},
};

static const rows_kernel quads[3] = {q4_1_quad, q8_0_quad, q8_1_quad};
static const rows_kernel quads_z[3] = {q4_1_quadz, q8_0_quadz, q8_1_quadz};

// Where the panel product reads whole blocks.
typedef struct {
  const uint8_t *quants;
  const float *scales;
  long qrow, srow;
} block_rows;

// Whole blocks stored for the panel product, as fp32 (the values the 512-bit kernels expand) or,
// for psr_weight_panels.expand_bf16, rounded to bf16 as they are expanded: a block's 32 values are
// one 64-byte chunk, so it costs one vcvtne2ps2bf16 and no fp32 panel (batched decoding spent a
// tenth of its time writing and rereading that panel, experiments/bench).
__attribute__((target(AVX512F), always_inline)) static inline void store_f32(float *o, int t, block32z b) {
  _mm512_storeu_ps(o + t, b.w0);
  _mm512_storeu_ps(o + t + 16, b.w1);
}

__attribute__((target(AVX512F ",avx512bf16"), always_inline)) static inline void store_bf16(float *o, int t, block32z b) {
  _mm512_storeu_ps(o + t / 2, (__m512)_mm512_cvtne2ps_pbh(b.w1, b.w0));
}

#define DEFINE_EXPAND_ROWS(NAME, TARGET, STORE, EXPAND, QBYTES, SCALES)                                       \
  __attribute__((target(TARGET))) static void NAME(                                                        \
      const void *context, int j, int rows, int t0, int len, float *out, long ldo) {                      \
    const block_rows *source = context;                                                                    \
    for (int r = 0; r < rows; r++) {                                                                       \
      const uint8_t *q = source->quants + (long)(j + r) * source->qrow + (long)(t0 / 32) * QBYTES;         \
      const float *s = source->scales + (long)(j + r) * source->srow + (long)(t0 / 32) * SCALES;           \
      float *o = out + r * ldo;                                                                            \
      for (int t = 0; t < len; t += 32, q += QBYTES, s += SCALES) STORE(o, t, EXPAND(q, s));               \
    }                                                                                                      \
  }

#define BF16 AVX512F ",avx512bf16"
DEFINE_EXPAND_ROWS(q4_1_expand_rows, AVX512F, store_f32, expand_q4_1_z, 16, 2)
DEFINE_EXPAND_ROWS(q8_0_expand_rows, AVX512F, store_f32, expand_q8_0_z, 32, 1)
DEFINE_EXPAND_ROWS(q8_1_expand_rows, AVX512F, store_f32, expand_q8_1_z, 32, 2)
DEFINE_EXPAND_ROWS(q4_1_expand_rows_bf16, BF16, store_bf16, expand_q4_1_z, 16, 2)
DEFINE_EXPAND_ROWS(q8_0_expand_rows_bf16, BF16, store_bf16, expand_q8_0_z, 32, 1)
DEFINE_EXPAND_ROWS(q8_1_expand_rows_bf16, BF16, store_bf16, expand_q8_1_z, 32, 2)

static void (*const expand_rows[3])(const void *, int, int, int, int, float *, long) = {
    q4_1_expand_rows, q8_0_expand_rows, q8_1_expand_rows};
static void (*const expand_rows_bf16[3])(const void *, int, int, int, int, float *, long) = {
    q4_1_expand_rows_bf16, q8_0_expand_rows_bf16, q8_1_expand_rows_bf16};

static int wide = -1;
#ifndef ZMM
#define ZMM 1
#endif

void psr_quantized_gemm_nt(
    int format, int m, int k, const float *x, const float *packed, int packed_bf16, const uint8_t *quants,
    const float *scales, float *y, long ldy, float beta, int j0, int j1) {
  if (!psr_has_avx2_fma()) {
    psr_portable_quantized_gemm_nt(format, m, k, x, quants, scales, y, ldy, beta, j0, j1);
    return;
  }
  if (wide < 0) {
    __builtin_cpu_init();
    wide = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  }
  const int blocks = k / 32;
  const int qbytes = format == PSR_Q4_1 ? 16 : 32, nscales = format == PSR_Q8_0 ? 1 : 2;
  const long qrow = (long)blocks * qbytes, srow = (long)blocks * nscales;
  // Cutting k into chunks that keep the activation rows in L1 measured slower (80 → 64
  // GFLOP/s a core at 16 rows): the extra passes over y cost more than L2 loads of x.
  if (packed && wide && ZMM && psr_panel_gemm_supported()) {
    // Pairs of columns run the 512-bit kernels, whose sums the panel product repeats; an odd
    // last column runs the 256-bit kernel below, as it does for fewer rows.
    const block_rows rows = {quants, scales, qrow, srow};
    const psr_weight_panels panels = {expand_rows[format], &rows, 32, expand_rows_bf16[format]};
    const int paired = j0 + ((j1 - j0) & ~1);
    if (psr_panel_gemm_nt(&panels, m, k, packed, packed_bf16, y, ldy, 1, beta, j0, paired)) {
      j0 = paired;
      if (j0 == j1) return;
    }
  }
  const int kc = k;
  const float *xr[8];
  for (int t0 = 0; t0 < k; t0 += kc) {
    const int len = k - t0 < kc ? k - t0 : kc, b0 = t0 / 32;
    for (int j = j0; j < j1;) {
      // A column's kernel family (ZMM or AVX2) depends only on j, never on m, so each output
      // is summed in the same order for any number of rows: a sequence decodes the same alone
      // or in a batch. One row takes four columns at a time of the same family.
      const int group = wide && ZMM ? 8 : 4;
      if (m == 1 && j + group - 1 < j1) {
        const uint8_t *qj = quants + (long)j * qrow + (long)b0 * qbytes;
        const float *sj = scales + (long)j * srow + (long)b0 * nscales;
        float out[64];
        xr[0] = x + t0;
        (wide && ZMM ? quads_z[format] : quads[format])(len, xr, qj, sj, qrow, srow, out);
        for (int u = 0; u < group; u++) y[j + u] = (t0 > 0 ? y[j + u] : beta == 0 ? 0 : beta * y[j + u]) + out[u * 8];
        j += group;
        continue;
      }
      const int w = wide && j + 1 < j1 ? 2 : 1;
      const uint8_t *qj = quants + (long)j * qrow + (long)b0 * qbytes;
      const float *sj = scales + (long)j * srow + (long)b0 * nscales;
      for (int i = 0; i < m;) {
        // The largest group of 8, 4, 2 or 1 rows that fits what is left.
        int left = m - i, level = left >= 8 ? 3 : left >= 4 ? 2 : left >= 2 ? 1 : 0, rows = 1 << level;
        for (int r = 0; r < rows; r++) xr[r] = x + (long)(i + r) * k + t0;
        float out[32];
        (w == 2 && ZMM ? kernels_z[format][level] : kernels[format][w - 1][level])(len, xr, qj, sj, qrow, srow, out);
        for (int u = 0; u < w; u++)
          for (int r = 0; r < rows; r++) {
            float *yr = y + (long)(i + r) * ldy + j + u;
            *yr = (t0 > 0 ? *yr : beta == 0 ? 0 : beta * *yr) + out[u * 8 + r];
          }
        i += rows;
      }
      j += w;
    }
  }
}

#endif  // __x86_64__
