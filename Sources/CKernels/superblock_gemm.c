// x86-64 only: elsewhere portable.c defines these entry points.
#if defined(__x86_64__)
#include "psr_kernels.h"
#include "panel_gemm.h"
#include "portable.h"
#include "simd_sums.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

// Products with weights in GGML's K-quant super-blocks (256 weights each), read from the file's
// own bytes: no repacked copy. Each 32-weight sub-block is expanded to fp32 in registers — the
// values Dequantize produces, bit for bit: d·sc is exact in fp32 (an 11-bit mantissa times a
// 6- or 8-bit integer) and so is d·sc·q, so d·sc·q − dmin·m rounds once with or without an
// FMA — and multiplied with fp32 activations. Every output is summed in one order (one
// accumulator per output, blocks in order) whatever the number of rows, so a sequence decodes
// the same alone or in a batch.

#define TARGET "avx2,fma,f16c"

typedef struct {
  __m256 w[4];
} sub32;

/// Per super-block and weight row: the sub-blocks' scales and minimums as floats.
typedef struct {
  float scale[16];
  float minimum[8];
} superblock_scales;

__attribute__((target(TARGET))) static inline float half_to_float(const uint8_t *p) {
  return _cvtsh_ss((unsigned short)(p[0] | p[1] << 8));
}

// Q4_K and Q5_K: eight 6-bit scales and eight 6-bit minimums packed in 12 bytes. Sub-block j < 4
// has scale q[j] & 63 and minimum q[j + 4] & 63; j ≥ 4 takes its low four bits from q[j + 4] (low
// nibble for the scale, high for the minimum) and its top two from the top bits of q[j − 4] (scale)
// or q[j] (minimum). Unpacked four bytes at a time in 32-bit words, then widened to floats.
__attribute__((target(TARGET))) static void k4_scales(const uint8_t *block, superblock_scales *s) {
  uint32_t w[3], scales[2], minimums[2];
  memcpy(w, block + 4, 12);
  scales[0] = w[0] & 0x3f3f3f3fu;
  scales[1] = (w[2] & 0x0f0f0f0fu) | (((w[0] >> 6) & 0x03030303u) << 4);
  minimums[0] = w[1] & 0x3f3f3f3fu;
  minimums[1] = ((w[2] >> 4) & 0x0f0f0f0fu) | (((w[1] >> 6) & 0x03030303u) << 4);
  __m128i sc, mn;
  memcpy(&sc, scales, 8);
  memcpy(&mn, minimums, 8);
  const __m256 d = _mm256_set1_ps(half_to_float(block)), dmin = _mm256_set1_ps(-half_to_float(block + 2));
  _mm256_storeu_ps(s->scale, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sc))));
  _mm256_storeu_ps(s->minimum, _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mn))));
}

// Q6_K: sixteen int8 scales, one per 16 weights, times d.
__attribute__((target(TARGET))) static void k6_scales(const uint8_t *block, superblock_scales *s) {
  const __m256 d = _mm256_set1_ps(half_to_float(block + 208));
  const __m128i sc = _mm_loadu_si128((const __m128i *)(block + 192));
  _mm256_storeu_ps(s->scale, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc))));
  _mm256_storeu_ps(s->scale + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8)))));
}

__attribute__((target(TARGET), always_inline)) static inline __m256 widen_u8(__m128i bytes) {
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
}

__attribute__((target(TARGET), always_inline)) static inline __m256 widen_i8(__m128i bytes) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
}

// Sub-block j (0..7) of a Q4_K block: weights 64·(j/2) + l take the low (j even) or high (j odd)
// nibble of qs[32·(j/2) + l]; Q5_K adds bit j of qh[l] as the fifth bit.
__attribute__((target(TARGET), always_inline)) static inline sub32 expand_k45(
    const uint8_t *block, int j, const superblock_scales *s, int five) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const uint8_t *qs = block + (five ? 48 : 16) + 32 * (j >> 1);
  __m256i q = _mm256_and_si256(_mm256_srl_epi16(_mm256_loadu_si256((const __m256i *)qs), _mm_cvtsi32_si128(4 * (j & 1))), low4);
  if (five) {
    __m256i qh = _mm256_loadu_si256((const __m256i *)(block + 16));
    __m256i bit = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(j)), _mm256_set1_epi8(1));
    q = _mm256_or_si256(q, _mm256_slli_epi16(bit, 4));
  }
  const __m256 d = _mm256_set1_ps(s->scale[j]), m = _mm256_set1_ps(s->minimum[j]);
  const __m128i a = _mm256_castsi256_si128(q), c = _mm256_extracti128_si256(q, 1);
  sub32 b;
  b.w[0] = _mm256_fmadd_ps(d, widen_u8(a), m);
  b.w[1] = _mm256_fmadd_ps(d, widen_u8(_mm_srli_si128(a, 8)), m);
  b.w[2] = _mm256_fmadd_ps(d, widen_u8(c), m);
  b.w[3] = _mm256_fmadd_ps(d, widen_u8(_mm_srli_si128(c, 8)), m);
  return b;
}

// Sub-block j (0..7) of a Q6_K block: half h = j/4 of the block, quarter g = j%4 of that half.
// Weight 128·h + 32·g + l is (low or high nibble of ql[64·h + 32·(g&1) + l]) | (bits 2g, 2g+1
// of qh[32·h + l]) << 4, minus 32, times scale 8·h + 2·g + l/16.
__attribute__((target(TARGET), always_inline)) static inline sub32 expand_k6(
    const uint8_t *block, int j, const superblock_scales *s) {
  const int h = j >> 2, g = j & 3;
  const uint8_t *ql = block + 64 * h + 32 * (g & 1), *qh = block + 128 + 32 * h;
  __m256i low = _mm256_and_si256(
      _mm256_srl_epi16(_mm256_loadu_si256((const __m256i *)ql), _mm_cvtsi32_si128(4 * (g >> 1))), _mm256_set1_epi8(0x0F));
  __m256i high = _mm256_and_si256(
      _mm256_srl_epi16(_mm256_loadu_si256((const __m256i *)qh), _mm_cvtsi32_si128(2 * g)), _mm256_set1_epi8(3));
  __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 4)), _mm256_set1_epi8(32));
  const __m256 d0 = _mm256_set1_ps(s->scale[8 * h + 2 * g]), d1 = _mm256_set1_ps(s->scale[8 * h + 2 * g + 1]);
  const __m128i a = _mm256_castsi256_si128(q), c = _mm256_extracti128_si256(q, 1);
  sub32 b;
  b.w[0] = _mm256_mul_ps(d0, widen_i8(a));
  b.w[1] = _mm256_mul_ps(d0, widen_i8(_mm_srli_si128(a, 8)));
  b.w[2] = _mm256_mul_ps(d1, widen_i8(c));
  b.w[3] = _mm256_mul_ps(d1, widen_i8(_mm_srli_si128(c, 8)));
  return b;
}

__attribute__((target(TARGET), always_inline)) static inline sub32 expand(
    int format, const uint8_t *block, int j, const superblock_scales *s) {
  return format == PSR_Q6_K ? expand_k6(block, j, s) : expand_k45(block, j, s, format == PSR_Q5_K);
}

__attribute__((target(TARGET), always_inline)) static inline void decode_scales(
    int format, const uint8_t *block, superblock_scales *s) {
  if (format == PSR_Q6_K) k6_scales(block, s); else k4_scales(block, s);
}

// R activation rows against W weight rows, one accumulator per output.
#define DEFINE_SUPER_ROWS(NAME, FORMAT, BYTES, R, W)                                                          \
  __attribute__((target(TARGET))) static void NAME(                                                         \
      int k, const float *const *x, const uint8_t *rows, long rowBytes, float *out) {                       \
    __m256 acc[W][R];                                                                                       \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                                                             \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) acc[w][r] = _mm256_setzero_ps();                                          \
    for (int t0 = 0; t0 < k; t0 += 256) {                                                                   \
      superblock_scales s[W];                                                                               \
      const uint8_t *block[W];                                                                              \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                                                         \
        block[w] = rows + w * rowBytes + (long)(t0 / 256) * BYTES;                                          \
        decode_scales(FORMAT, block[w], &s[w]);                                                             \
      }                                                                                                     \
      _Pragma("clang loop unroll(full)") for (int j = 0; j < 8; j++) {                                                                         \
        sub32 b[W];                                                                                         \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) b[w] = expand(FORMAT, block[w], j, &s[w]);                              \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                       \
          const float *xr = x[r] + t0 + 32 * j;                                                             \
          _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; v++) {                                                                     \
            __m256 xv = _mm256_loadu_ps(xr + 8 * v);                                                        \
            _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) acc[w][r] = _mm256_fmadd_ps(xv, b[w].w[v], acc[w][r]);              \
          }                                                                                                 \
        }                                                                                                   \
      }                                                                                                     \
    }                                                                                                       \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                                                             \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) out[w * 8 + r] = psr_hsum8(acc[w][r]);                                    \
  }

#define DEFINE_FORMAT(P, FORMAT, BYTES)          \
  DEFINE_SUPER_ROWS(P##_r1, FORMAT, BYTES, 1, 1) \
  DEFINE_SUPER_ROWS(P##_r2, FORMAT, BYTES, 2, 1) \
  DEFINE_SUPER_ROWS(P##_r4, FORMAT, BYTES, 4, 1) \
  DEFINE_SUPER_ROWS(P##_r8, FORMAT, BYTES, 8, 1) \
  DEFINE_SUPER_ROWS(P##_quad, FORMAT, BYTES, 1, 4)

DEFINE_FORMAT(k4, PSR_Q4_K, 144)
DEFINE_FORMAT(k5, PSR_Q5_K, 176)
DEFINE_FORMAT(k6, PSR_Q6_K, 210)

typedef struct {
  __m512 w[2];
} sub32z;

#define TARGET_Z "avx2,fma,f16c,avx512f,avx512vl,avx512bw"
#define PREFETCH_BLOCKS 2
#define FAR_BLOCKS 16

// The same expansions with 512-bit vectors: half the instructions, which is what bounds these
// kernels. Bytes are handled in 128-bit halves (no lane extracts), and the callers unroll the
// sub-block loop so that every shift count below is a constant.
__attribute__((target(TARGET_Z), always_inline)) static inline __m128i load16(const uint8_t *p) {
  return _mm_loadu_si128((const __m128i *)p);
}

// Q4_K in 512-bit registers: the sub-block's 16 possible weights d·q + m form a table and each
// weight is looked up by its value (vpermps reads only the index's low 4 bits, so the high nibble
// needs no mask): one permute instead of a conversion and an FMA per 16 weights, 30% faster, and
// exactly the values the expansion computes. (Q5_K's 32-entry lookup, vpermi2ps, measured no
// faster than converting, so Q5_K converts; see k5_values.)
__attribute__((target(TARGET_Z), always_inline)) static inline sub32z expand_k4_z(
    const uint8_t *block, int j, const superblock_scales *s) {
  const uint8_t *qs = block + 16 + 32 * (j >> 1);
  const __m128i shift = _mm_cvtsi32_si128(4 * (j & 1));
  const __m128i a = _mm_srl_epi16(load16(qs), shift), c = _mm_srl_epi16(load16(qs + 16), shift);
  const __m512 d = _mm512_set1_ps(s->scale[j]), m = _mm512_set1_ps(s->minimum[j]);
  const __m512 table = _mm512_fmadd_ps(d, _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), m);
  sub32z b;
  b.w[0] = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(a), table);
  b.w[1] = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(c), table);
  return b;
}

// Q6_K's 256 six-bit values minus 32, as signed bytes in weight order, computed a half block
// (128 weights) at a time in 512-bit registers: the low nibbles of ql[0..63] are weights 0–63 and
// its high nibbles weights 64–127; qh's 32 bytes (in both 256-bit halves) give each quarter its two
// top bits, shifted by 0, 2, 4 or 6 per quarter. Far fewer instructions than unpacking each 16
// weights in 128-bit registers, which is what made Q6_K the slower kernel.
__attribute__((target(TARGET_Z), always_inline)) static inline void k6_values(const uint8_t *block, int8_t *out) {
  const __m512i low4 = _mm512_set1_epi8(0x0F), low2 = _mm512_set1_epi8(3), bias = _mm512_set1_epi8(32);
  const __m512i first = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
  const __m512i second = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(6), 1);
  _Pragma("clang loop unroll(full)") for (int h = 0; h < 2; h++) {
    const __m512i ql = _mm512_loadu_si512(block + 64 * h);
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(block + 128 + 32 * h)));
    const __m512i lo = _mm512_and_si512(ql, low4), hi = _mm512_and_si512(_mm512_srli_epi16(ql, 4), low4);
    const __m512i top_lo = _mm512_and_si512(_mm512_srlv_epi16(qh, first), low2);
    const __m512i top_hi = _mm512_and_si512(_mm512_srlv_epi16(qh, second), low2);
    _mm512_storeu_si512(out + 128 * h, _mm512_sub_epi8(_mm512_or_si512(lo, _mm512_slli_epi16(top_lo, 4)), bias));
    _mm512_storeu_si512(out + 128 * h + 64, _mm512_sub_epi8(_mm512_or_si512(hi, _mm512_slli_epi16(top_hi, 4)), bias));
  }
}

// Q5_K's 256 five-bit values as bytes in weight order, half a block at a time: qs[64h..64h+63]
// holds sub-blocks 4h and 4h+2 in its low nibbles and 4h+1 and 4h+3 in its high ones; bit j of
// qh[l] is the fifth bit of weight l of sub-block j.
__attribute__((target(TARGET_Z), always_inline)) static inline void k5_values(const uint8_t *block, uint8_t *out) {
  const __m512i low4 = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi8(1);
  const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(block + 16)));
  _Pragma("clang loop unroll(full)") for (int h = 0; h < 2; h++) {
    const __m512i qs = _mm512_loadu_si512(block + 48 + 64 * h);
    const __m512i even = _mm512_inserti64x4(_mm512_set1_epi16(4 * h), _mm256_set1_epi16(4 * h + 2), 1);
    const __m512i odd = _mm512_inserti64x4(_mm512_set1_epi16(4 * h + 1), _mm256_set1_epi16(4 * h + 3), 1);
    const __m512i lo = _mm512_or_si512(
        _mm512_and_si512(qs, low4), _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, even), one), 4));
    const __m512i hi = _mm512_or_si512(
        _mm512_and_si512(_mm512_srli_epi16(qs, 4), low4),
        _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, odd), one), 4));
    // Sub-blocks 4h, 4h+1 (the low 256 bits of lo, then of hi), then 4h+2, 4h+3 (the high ones).
    _mm512_storeu_si512(out + 128 * h, _mm512_shuffle_i64x2(lo, hi, 0x44));
    _mm512_storeu_si512(out + 128 * h + 64, _mm512_shuffle_i64x2(lo, hi, 0xEE));
  }
}

// Sub-block j of Q5_K from k5_values: d·q + m rounded once, as Dequantize computes it.
__attribute__((target(TARGET_Z), always_inline)) static inline sub32z expand_k5_values(
    const uint8_t *values, int j, const superblock_scales *s) {
  const __m512 d = _mm512_set1_ps(s->scale[j]), m = _mm512_set1_ps(s->minimum[j]);
  sub32z b;
  b.w[0] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(values + 32 * j)))), m);
  b.w[1] = _mm512_fmadd_ps(
      d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(values + 32 * j + 16)))), m);
  return b;
}

// Sub-block j of Q6_K from k6_values: d·sc·(q − 32), exact in fp32, as Dequantize computes it.
__attribute__((target(TARGET_Z), always_inline)) static inline sub32z expand_k6_values(
    const int8_t *values, int j, const superblock_scales *s) {
  sub32z b;
  b.w[0] = _mm512_mul_ps(
      _mm512_set1_ps(s->scale[2 * j]), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(values + 32 * j)))));
  b.w[1] = _mm512_mul_ps(
      _mm512_set1_ps(s->scale[2 * j + 1]),
      _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(values + 32 * j + 16)))));
  return b;
}

// Q5_K's and Q6_K's values of a whole super-block into `values` (256 bytes); Q4_K needs none.
__attribute__((target(TARGET_Z), always_inline)) static inline void unpack_values(
    int format, const uint8_t *block, uint8_t *values) {
  if (format == PSR_Q6_K) k6_values(block, (int8_t *)values);
  if (format == PSR_Q5_K) k5_values(block, values);
}

// Sub-block j (0..7) of a super-block as 32 fp32 weights, from `values` where unpack_values
// filled it.
__attribute__((target(TARGET_Z), always_inline)) static inline sub32z expand_z(
    int format, const uint8_t *block, const uint8_t *values, int j, const superblock_scales *s) {
  return format == PSR_Q6_K   ? expand_k6_values((const int8_t *)values, j, s)
         : format == PSR_Q5_K ? expand_k5_values(values, j, s)
                              : expand_k4_z(block, j, s);
}

#define DEFINE_SUPER_ROWS_Z(NAME, FORMAT, BYTES, R, W)                                                        \
  __attribute__((target(TARGET_Z))) static void NAME(                                                       \
      int k, const float *const *x, const uint8_t *rows, long rowBytes, float *out) {                       \
    __m512 acc[W][R];                                                                                       \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                                                             \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) acc[w][r] = _mm512_setzero_ps();                                          \
    for (int t0 = 0; t0 < k; t0 += 256) {                                                                   \
      superblock_scales s[W];                                                                               \
      const uint8_t *block[W];                                                                              \
      uint8_t values[W][256] __attribute__((aligned(64)));                                                  \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                                                         \
        block[w] = rows + w * rowBytes + (long)(t0 / 256) * BYTES;                                          \
        unpack_values(FORMAT, block[w], values[w]);                                                         \
        /* W rows stream at once: fetch each one's block a few ahead, which the hardware prefetcher */   \
        /* does not do soon enough. Near a row's end that is the same row of the next W, which the */     \
        /* caller takes next: stopping at the row's end left a third of a 1536-wide matrix to demand */   \
        /* misses, and weights read from DRAM ran 25% slower than from L3. (A prefetch never faults, */    \
        /* past the last row included.) */                                                                \
        const int ahead = t0 / 256 + PREFETCH_BLOCKS, count = k / 256;                                      \
        const uintptr_t next = ahead < count ? (uintptr_t)block[w] + PREFETCH_BLOCKS * BYTES                \
                                             : (uintptr_t)rows + (w + W) * rowBytes + (ahead - count) * BYTES; \
        for (int line = 0; line < BYTES; line += 64) _mm_prefetch((const char *)(next + line), _MM_HINT_T0); \
        /* And into L2 FAR_BLOCKS ahead (see q8_activation_gemm.c): more misses in flight. */               \
        const int far = t0 / 256 + FAR_BLOCKS;                                                              \
        const uintptr_t there = far < count ? (uintptr_t)block[w] + FAR_BLOCKS * BYTES                      \
                                            : (uintptr_t)rows + (w + W) * rowBytes + (far - count) * BYTES; \
        for (int line = 0; line < BYTES; line += 64) _mm_prefetch((const char *)(there + line), _MM_HINT_T1); \
        decode_scales(FORMAT, block[w], &s[w]);                                                             \
      }                                                                                                     \
      _Pragma("clang loop unroll(full)") for (int j = 0; j < 8; j++) {                                     \
        sub32z b[W];                                                                                        \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) b[w] = expand_z(FORMAT, block[w], values[w], j, &s[w]);                 \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                       \
          const float *xr = x[r] + t0 + 32 * j;                                                             \
          __m512 x0 = _mm512_loadu_ps(xr), x1 = _mm512_loadu_ps(xr + 16);                                   \
          _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                                                     \
            acc[w][r] = _mm512_fmadd_ps(x0, b[w].w[0], acc[w][r]);                                          \
            acc[w][r] = _mm512_fmadd_ps(x1, b[w].w[1], acc[w][r]);                                          \
          }                                                                                                 \
        }                                                                                                   \
      }                                                                                                     \
    }                                                                                                       \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                                                             \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                         \
        __m512 v = acc[w][r];                                                                               \
        __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))); \
        out[w * 8 + r] = psr_hsum8(h);                                                                      \
      }                                                                                                     \
  }

#define DEFINE_FORMAT_Z(P, FORMAT, BYTES)                 \
  DEFINE_SUPER_ROWS_Z(P##_r1z, FORMAT, BYTES, 1, 2)       \
  DEFINE_SUPER_ROWS_Z(P##_r2z, FORMAT, BYTES, 2, 2)       \
  DEFINE_SUPER_ROWS_Z(P##_r4z, FORMAT, BYTES, 4, 2)       \
  DEFINE_SUPER_ROWS_Z(P##_r8z, FORMAT, BYTES, 8, 2)       \
  DEFINE_SUPER_ROWS_Z(P##_r1z1, FORMAT, BYTES, 1, 1)      \
  DEFINE_SUPER_ROWS_Z(P##_r2z1, FORMAT, BYTES, 2, 1)      \
  DEFINE_SUPER_ROWS_Z(P##_r4z1, FORMAT, BYTES, 4, 1)      \
  DEFINE_SUPER_ROWS_Z(P##_r8z1, FORMAT, BYTES, 8, 1)      \
  DEFINE_SUPER_ROWS_Z(P##_octz, FORMAT, BYTES, 1, 8)

DEFINE_FORMAT_Z(k4, PSR_Q4_K, 144)
DEFINE_FORMAT_Z(k5, PSR_Q5_K, 176)
DEFINE_FORMAT_Z(k6, PSR_Q6_K, 210)

typedef void (*super_kernel)(int, const float *const *, const uint8_t *, long, float *);

// [format][log2 activation rows], then the one-row kernel over four weight rows; the 512-bit
// family as [format][weight rows - 1][log2 activation rows] and one row over eight weight rows.
static const super_kernel rows_kernels[3][4] = {
    {k4_r1, k4_r2, k4_r4, k4_r8}, {k5_r1, k5_r2, k5_r4, k5_r8}, {k6_r1, k6_r2, k6_r4, k6_r8}};
static const super_kernel quad_kernels[3] = {k4_quad, k5_quad, k6_quad};
static const super_kernel rows_kernels_z[3][2][4] = {
    {{k4_r1z1, k4_r2z1, k4_r4z1, k4_r8z1}, {k4_r1z, k4_r2z, k4_r4z, k4_r8z}},
    {{k5_r1z1, k5_r2z1, k5_r4z1, k5_r8z1}, {k5_r1z, k5_r2z, k5_r4z, k5_r8z}},
    {{k6_r1z1, k6_r2z1, k6_r4z1, k6_r8z1}, {k6_r1z, k6_r2z, k6_r4z, k6_r8z}}};
static const super_kernel oct_kernels_z[3] = {k4_octz, k5_octz, k6_octz};

static int format_index(int format) { return format == PSR_Q4_K ? 0 : format == PSR_Q5_K ? 1 : 2; }

long psr_superblock_bytes(int format) { return format == PSR_Q4_K ? 144 : format == PSR_Q5_K ? 176 : 210; }

// Expansion of whole super-blocks into fp32 rows for the panel product and for the input
// gradients' blocks of rows (psr_superblock_expand_rows): the values expand_z gives the decode
// kernels, stored unaligned, since the gradients' scratch has no 64-byte alignment. For bf16
// panels (psr_weight_panels.expand_bf16) each 32-value sub-block is rounded as it is expanded,
// one vcvtne2ps2bf16 into a 64-byte chunk: the bits panel_to_bf16 gives from the fp32 panel,
// without writing and rereading that panel.
__attribute__((target(TARGET_Z), always_inline)) static inline void store_sub_f32(float *o, int t, sub32z b) {
  _mm512_storeu_ps(o + t, b.w[0]);
  _mm512_storeu_ps(o + t + 16, b.w[1]);
}

__attribute__((target(TARGET_Z ",avx512bf16"), always_inline)) static inline void store_sub_bf16(float *o, int t, sub32z b) {
  _mm512_storeu_ps(o + t / 2, (__m512)_mm512_cvtne2ps_pbh(b.w[1], b.w[0]));
}

#define DEFINE_EXPAND_ROWS(NAME, FORMAT, BYTES, TARGET_, STORE)                                               \
  __attribute__((target(TARGET_))) static void NAME(                                                       \
      const void *context, int j, int rows, int t0, int len, float *out, long ldo) {                      \
    const superblock_rows *source = context;                                                               \
    for (int r = 0; r < rows; r++) {                                                                       \
      const uint8_t *row = source->blocks + (long)(j + r) * source->rowBytes;                              \
      for (int t = t0; t < t0 + len; t += 256) {                                                           \
        const uint8_t *block = row + (long)(t / 256) * BYTES;                                              \
        superblock_scales s;                                                                               \
        decode_scales(FORMAT, block, &s);                                                                  \
        uint8_t values[256] __attribute__((aligned(64)));                                                  \
        unpack_values(FORMAT, block, values);                                                              \
        _Pragma("clang loop unroll(full)") for (int q = 0; q < 8; q++)                                     \
            STORE(out + r * ldo, t - t0 + 32 * q, expand_z(FORMAT, block, values, q, &s));                 \
      }                                                                                                    \
    }                                                                                                      \
  }

typedef struct {
  const uint8_t *blocks;
  long rowBytes;
} superblock_rows;

#define TARGET_Z_BF16 TARGET_Z ",avx512bf16"
DEFINE_EXPAND_ROWS(k4_expand_rows, PSR_Q4_K, 144, TARGET_Z, store_sub_f32)
DEFINE_EXPAND_ROWS(k5_expand_rows, PSR_Q5_K, 176, TARGET_Z, store_sub_f32)
DEFINE_EXPAND_ROWS(k6_expand_rows, PSR_Q6_K, 210, TARGET_Z, store_sub_f32)
DEFINE_EXPAND_ROWS(k4_expand_rows_bf16, PSR_Q4_K, 144, TARGET_Z_BF16, store_sub_bf16)
DEFINE_EXPAND_ROWS(k5_expand_rows_bf16, PSR_Q5_K, 176, TARGET_Z_BF16, store_sub_bf16)
DEFINE_EXPAND_ROWS(k6_expand_rows_bf16, PSR_Q6_K, 210, TARGET_Z_BF16, store_sub_bf16)

static void (*const expand_rows[3])(const void *, int, int, int, int, float *, long) = {
    k4_expand_rows, k5_expand_rows, k6_expand_rows};
static void (*const expand_rows_bf16[3])(const void *, int, int, int, int, float *, long) = {
    k4_expand_rows_bf16, k5_expand_rows_bf16, k6_expand_rows_bf16};

// Whether this CPU runs the 512-bit kernels (AVX-512 F, VL, BW), asked once.
static int has_wide(void) {
  static int wide = -1;
  if (wide < 0) {
    __builtin_cpu_init();
    wide = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  }
  return wide;
}

int psr_superblock_expand_rows(int format, int k, const uint8_t *blocks, int rows, float *out) {
  if (!has_wide() || k % 256 != 0 || rows <= 0) return 0;
  const superblock_rows source = {blocks, (long)(k / 256) * psr_superblock_bytes(format)};
  expand_rows[format_index(format)](&source, 0, rows, 0, k, out, k);
  return 1;
}

void psr_superblock_gemm_nt(
    int format, int m, int k, const float *x, const float *packed, int packed_bf16, const uint8_t *blocks, float *y,
    long ldy, float beta, int j0, int j1) {
  if (!psr_has_avx2_fma()) {
    psr_portable_superblock_gemm_nt(format, m, k, x, blocks, y, ldy, beta, j0, j1);
    return;
  }
  const int wide = has_wide();
  const int f = format_index(format);
  const long rowBytes = (long)(k / 256) * psr_superblock_bytes(format);
  // Every column of a CPU runs one kernel family (512- or 256-bit), whatever m: each output is
  // then summed in one order, alone or in a batch.
  const int group = wide ? 8 : 4;
  if (packed && wide && psr_panel_gemm_supported()) {
    const superblock_rows rows = {blocks, rowBytes};
    const psr_weight_panels panels = {expand_rows[f], &rows, 256, expand_rows_bf16[f]};
    if (psr_panel_gemm_nt(&panels, m, k, packed, packed_bf16, y, ldy, 1, beta, j0, j1)) return;
  }
  const float *xr[8];
  float out[64];
  for (int j = j0; j < j1;) {
    const uint8_t *wj = blocks + (long)j * rowBytes;
    if (m == 1 && j + group - 1 < j1) {
      xr[0] = x;
      (wide ? oct_kernels_z : quad_kernels)[f](k, xr, wj, rowBytes, out);
      for (int u = 0; u < group; u++) y[j + u] = (beta == 0 ? 0 : beta * y[j + u]) + out[u * 8];
      j += group;
      continue;
    }
    const int w = wide && j + 1 < j1 ? 2 : 1;
    for (int i = 0; i < m;) {
      int left = m - i, level = left >= 8 ? 3 : left >= 4 ? 2 : left >= 2 ? 1 : 0, rows = 1 << level;
      for (int r = 0; r < rows; r++) xr[r] = x + (long)(i + r) * k;
      (wide ? rows_kernels_z[f][w - 1] : rows_kernels[f])[level](k, xr, wj, rowBytes, out);
      for (int u = 0; u < w; u++)
        for (int r = 0; r < rows; r++) {
          float *yr = y + (long)(i + r) * ldy + j + u;
          *yr = (beta == 0 ? 0 : beta * *yr) + out[u * 8 + r];
        }
      i += rows;
    }
    j += w;
  }
}

#endif  // __x86_64__
