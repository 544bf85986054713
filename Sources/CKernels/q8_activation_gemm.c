// Products of K-quant weights with 8-bit activations, as llama.cpp computes them: each activation
// row is quantized per 256 values to int8 with one fp32 scale (llama.cpp's q8_K: scale −max/127,
// round half to even), and a super-block's product is an exact integer sum, scaled once.
//
// For a weight super-block with sub-block scales sc_j, offsets mn_j and fp16 factors d, dmin, and
// an activation block with scale dx and values a_t:
//   Σ_t w_t·x_t ≈ dx·d·S − dx·dmin·M,   S = Σ_t sc_j(t)·q_t·a_t,   M = Σ_j mn_j·Σ_{t in j} a_t
// Q4_K, Q5_K: sub-blocks of 32, mn_j the 6-bit minimums. Q6_K: sub-blocks of 16, q_t the stored
// 0…63 and mn_j = 32·sc_j with dmin = d (the −32 offset of its values). S and M are exact in int32
// (|sc·q·a| ≤ 128·63·127, 256 of them: < 2^31), and every kernel then rounds the same two fp32
// multiply-adds per super-block and output, in super-block order:
//   acc = fma(float(S), d·dx, acc);  acc = fma(float(M), (−dmin)·dx, acc)
// so an output has the same bits whichever kernel computed it: a sequence decodes the same alone
// or in a batch. Beyond the activations' quantization, those are the only roundings.
//
// Two layouts of the quantized activations and two kinds of kernel:
// - Fewer than 16 rows (decoding): a row's 256-value block is one q8k_block, its values in the
//   weight format's order (psr_q8k_position), and the kernels read the weights where they lie:
//   vpmaddubsw (unsigned weights × signed activations, pairs into int16, no saturation:
//   2·63·127 < 2^15) and vpdpwssd (the int16 scales into int32), one lane sum per super-block.
// - From 16 rows (prefill, batches): rows go in groups of 16 whose values interleave four bytes a
//   row (q8k_group), stored as a + 128 so that they are vpdpbusd's unsigned operand; a tile of four
//   weight rows is first unpacked to one byte a value with its scales (q8k_unpacked), and each
//   vpdpbusd multiplies four of a weight row's values, broadcast, with the same four positions of
//   all 16 rows: 16 outputs a register, so the per-super-block scaling is paid once per 16 outputs
//   instead of once per output. The +128 comes back out as 128·Σ_j sc_j·Σ_{t in j} q_t, which the
//   unpacking computes. On one Zen 4 core with L2-resident operands this kernel ran Q4_K at about
//   2.5 times the first kind's multiply-adds per second (experiments/bench).
#include "psr_kernels.h"
#include "q8_common.h"
#include "scratch.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/// One 256-value block of a quantized activation row (fewer than 16 rows): 384 bytes, so that qs
/// stays 64-byte aligned.
typedef struct {
  int8_t qs[256];      // in the weight format's order (psr_q8k_position)
  int16_t sums[16];    // what M multiplies: Q4_K, Q5_K: Σa over sub-block j (32 values) for j < 8, then 0; Q6_K: over group j (16)
  float d;             // value t ≈ d · a_t
  uint8_t pad[92];
} q8k_block;

_Static_assert(sizeof(q8k_block) == 384, "q8k_block is six cache lines");

/// One 256-value block of 16 activation rows (16 rows and more): row r's four values at stored
/// positions 4p … 4p + 3 are v[p][4r …], each + 128; pairs[i] holds in lane r the int16 pair
/// (sums[2i], sums[2i + 1]) of row r. Rows past the last are zero.
typedef struct {
  uint8_t v[64][64];
  int32_t pairs[8][16];
  float d[16];
} q8k_group;

_Static_assert(sizeof(q8k_group) == 4672, "q8k_group is 73 cache lines");

enum { GROUP_ROWS = 16 };

static inline int grouped(int m) { return m >= GROUP_ROWS; }

long psr_q8k_rows_bytes(int m, int k) {
  if (grouped(m)) return (long)((m + GROUP_ROWS - 1) / GROUP_ROWS) * (k / 256) * (long)sizeof(q8k_group);
  return (long)m * (k / 256) * (long)sizeof(q8k_block);
}

int psr_q8k_row_grain(int m) { return grouped(m) ? GROUP_ROWS : 1; }

int psr_q8k_position(int format, int t) {
  if (format == PSR_Q6_K) return t;
  // Q4_K and Q5_K: a 64-byte vector of nibbles holds sub-blocks (4c + h, 4c + 2 + h); sub-block
  // order 0 2 1 3 4 6 5 7.
  static const int slot[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  return 32 * slot[t / 32] + t % 32;
}

#if defined(__x86_64__)
#include <immintrin.h>

/// quantize_block's scale and values with 512-bit vectors, the same bytes: the largest magnitude
/// (NaNs never win, as in the scalar comparison), its first position, then each value's product
/// with −127/max rounded by the same two fp32 operations as psr_nearest_int and clamped.
__attribute__((target("avx512f,avx512bw,avx512vl"))) static int quantize_values_avx512(
    const float *v, float *scale, int8_t natural[256]) {
  __m512 largest = _mm512_setzero_ps();
  for (int i = 0; i < 16; i++) largest = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(v + 16 * i)), largest);
  const float amax = _mm512_reduce_max_ps(largest);
  if (!(amax > 0)) return 0;
  int first = 0;
  for (int i = 0; i < 16; i++) {
    const __mmask16 hit =
        _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(v + 16 * i)), _mm512_set1_ps(amax), _CMP_EQ_OQ);
    if (hit) { first = 16 * i + __builtin_ctz(hit); break; }
  }
  const float iscale = -127.f / v[first];
  for (int i = 0; i < 16; i++) {
    const __m512 shifted = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(iscale), _mm512_loadu_ps(v + 16 * i)), _mm512_set1_ps(12582912.f));
    __m512i n = _mm512_sub_epi32(_mm512_and_si512(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x007fffff)), _mm512_set1_epi32(0x00400000));
    n = _mm512_max_epi32(_mm512_min_epi32(n, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127));
    _mm_storeu_si128((__m128i *)(natural + 16 * i), _mm512_cvtepi32_epi8(n));
  }
  *scale = 1 / iscale;
  return 1;
}
#endif

/// quantize_block's scale and values, one value at a time (any CPU).
static int quantize_values(const float *v, float *scale, int8_t natural[256]) {
  float max = 0, amax = 0;
  for (int t = 0; t < 256; t++) {
    const float a = fabsf(v[t]);
    if (a > amax) { amax = a; max = v[t]; }
  }
  if (amax == 0) return 0;  // also for NaN blocks: amax stays 0
  const float iscale = -127.f / max;
  for (int t = 0; t < 256; t++) {
    const int n = psr_nearest_int(iscale * v[t]);
    natural[t] = (int8_t)(n > 127 ? 127 : n < -127 ? -127 : n);
  }
  *scale = 1 / iscale;
  return 1;
}

/// One 256-value block in natural order: its scale d, its values, and the sums that `format`'s
/// offsets multiply (d 0 and every value 0 for a block of zeros or NaNs).
static void quantize_block(int format, const float *v, float *d, int8_t natural[256], int16_t sums[16]) {
  memset(sums, 0, 32);
#if defined(__x86_64__)
  const int any = psr_q8_gemm_supported() ? quantize_values_avx512(v, d, natural) : quantize_values(v, d, natural);
#else
  const int any = quantize_values(v, d, natural);
#endif
  if (!any) {
    memset(natural, 0, 256);
    *d = 0;
    return;
  }
  const int span = format == PSR_Q6_K ? 16 : 32;
  for (int j = 0; j < 256 / span; j++) {
    int sum = 0;
    for (int t = span * j; t < span * j + span; t++) sum += natural[t];
    sums[j] = (int16_t)sum;
  }
}

void psr_quantize_rows_q8k(int format, int m, int k, const float *x, void *out, int lo, int hi) {
  const int nb = k / 256;
  int position[256];
  for (int t = 0; t < 256; t++) position[t] = psr_q8k_position(format, t);
  int8_t natural[256];
  int16_t sums[16];
  float d;
  for (int i = lo; i < hi; i++)
    for (int b = 0; b < nb; b++) {
      quantize_block(format, x + (long)i * k + 256L * b, &d, natural, sums);
      if (!grouped(m)) {
        q8k_block *q = (q8k_block *)out + (long)i * nb + b;
        memset(q, 0, sizeof *q);
        for (int t = 0; t < 256; t++) q->qs[position[t]] = natural[t];
        memcpy(q->sums, sums, sizeof sums);
        q->d = d;
        continue;
      }
      q8k_group *g = (q8k_group *)out + (long)(i / GROUP_ROWS) * nb + b;
      const int r = i % GROUP_ROWS;
      for (int t = 0; t < 256; t++) g->v[position[t] / 4][4 * r + position[t] % 4] = (uint8_t)(natural[t] + 128);
      for (int p = 0; p < 8; p++) g->pairs[p][r] = (int32_t)((uint32_t)(uint16_t)sums[2 * p] | (uint32_t)(uint16_t)sums[2 * p + 1] << 16);
      g->d[r] = d;
    }
  // The last group's rows past m: zero (their outputs are computed and dropped).
  if (grouped(m) && hi == m && m % GROUP_ROWS != 0)
    for (int b = 0; b < nb; b++) {
      q8k_group *g = (q8k_group *)out + (long)(m / GROUP_ROWS) * nb + b;
      for (int r = m % GROUP_ROWS; r < GROUP_ROWS; r++) {
        for (int p = 0; p < 64; p++) memset(&g->v[p][4 * r], 0, 4);
        for (int p = 0; p < 8; p++) g->pairs[p][r] = 0;
        g->d[r] = 0;
      }
    }
}

void psr_q8k_read_block(const void *rows, int m, int k, int row, int block, int format, float *scale, signed char *values, short *sums) {
  const long index = grouped(m) ? (long)(row / GROUP_ROWS) * (k / 256) + block : (long)row * (k / 256) + block;
  const q8k_group *g = (const q8k_group *)rows + index;
  const q8k_block *q = (const q8k_block *)rows + index;
  const int r = row % GROUP_ROWS;
  for (int t = 0; t < 256; t++) {
    const int s = psr_q8k_position(format, t);
    values[t] = grouped(m) ? (signed char)((int)g->v[s / 4][4 * r + s % 4] - 128) : q->qs[s];
  }
  *scale = grouped(m) ? g->d[r] : q->d;
  for (int j = 0; j < 16; j++) {
    const uint32_t pair = grouped(m) ? (uint32_t)g->pairs[j / 2][r] : 0;
    sums[j] = grouped(m) ? (short)(int16_t)(uint16_t)(j % 2 ? pair >> 16 : pair & 0xFFFF) : q->sums[j];
  }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define TQ8 "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni"
// How many super-blocks ahead each weight row is fetched into L1 (PREFETCH_BLOCKS) and into L2
// (FAR_BLOCKS) by the kernels that read weights where they lie. One thread of the Q4_K decoding
// kernel on an 86 MB matrix (AMD EPYC Zen 4, which streams 27 GB/s on one thread): no far fetch 9,
// 16 ahead 14–16, 32 ahead 19–21, 48 or 64 ahead 20–22, 96 ahead 20–22 GB/s; 64 took the
// Qwen2.5-1.5B-shape decode from 26.0–27.6 to 29.0–29.9 tok/s (experiments/bench).
#ifndef PREFETCH_BLOCKS
#define PREFETCH_BLOCKS 2
#endif
#ifndef FAR_BLOCKS
#define FAR_BLOCKS 64
#endif

int psr_q8_gemm_supported(void) {
  static int supported = -1;
  if (supported < 0) {
    __builtin_cpu_init();
    supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
                __builtin_cpu_supports("f16c");
  }
  return supported;
}

__attribute__((target(TQ8))) static inline float half(const uint8_t *p) {
  return _cvtsh_ss((unsigned short)(p[0] | p[1] << 8));
}

/// What a weight super-block contributes besides its values: the int16 scales (in the low lanes
/// of `scales`), the offsets mn_j as 16 int16 (`mn`, zero past the eighth for Q4_K and Q5_K), and
/// the fp32 factors d and −dmin (−d for Q6_K).
typedef struct {
  __m512i scales;
  __m256i mn;
  float d, ndmin;
} q8_header;

__attribute__((target(TQ8), always_inline)) static inline q8_header header(int format, const uint8_t *blk) {
  q8_header h;
  if (format == PSR_Q6_K) {
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
    h.scales = _mm512_zextsi256_si512(sc);
    h.mn = _mm256_slli_epi16(sc, 5);
    h.d = half(blk + 208);
    h.ndmin = -h.d;
    return h;
  }
  // Q4_K, Q5_K: d and dmin (fp16), then eight 6-bit scales and minimums in 12 bytes, unpacked in
  // one vector (the scalar unpacking of superblock_gemm.c's k4_scales took half of a decode
  // kernel's instructions). With w0, w1, w2 the three 32-bit words: scales 0–3 are w0 & 63,
  // minimums 0–3 w1 & 63; scales 4–7 are (w2 & 15) | (w0 >> 6 & 3) << 4, minimums 4–7
  // (w2 >> 4 & 15) | (w1 >> 6 & 3) << 4, byte by byte.
  const __m128i raw = _mm_loadu_si128((const __m128i *)blk);
  const __m128 factors = _mm_cvtph_ps(raw);
  const __m128i words = _mm_srli_si128(raw, 4);  // w0, w1, w2, 0
  const __m128i w2 = _mm_shuffle_epi32(raw, 0xFF);
  const __m128i low = _mm_and_si128(words, _mm_set1_epi8(0x3f));  // scales 0–3, minimums 0–3
  const __m128i high = _mm_or_si128(
      _mm_and_si128(_mm_srlv_epi32(w2, _mm_setr_epi32(0, 4, 0, 0)), _mm_set1_epi8(0x0f)),
      _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(words, 6), _mm_set1_epi8(3)), 4));  // scales 4–7, minimums 4–7
  const __m128i both = _mm_unpacklo_epi32(low, high);  // scales 0–3, 4–7, minimums 0–3, 4–7
  h.scales = _mm512_zextsi128_si512(_mm_cvtepu8_epi16(both));
  h.mn = _mm256_zextsi128_si256(_mm_cvtepu8_epi16(_mm_srli_si128(both, 8)));
  h.d = _mm_cvtss_f32(factors);
  h.ndmin = -_mm_cvtss_f32(_mm_movehdup_ps(factors));
  return h;
}
// Which scale each int16 pair of vector v takes: Q4_K/Q5_K sub-blocks (4c + h | 4c + 2 + h) with
// v = 2c + h, 16 pairs each; Q6_K groups 4v … 4v + 3, 8 pairs each.
static const int16_t k45_index[4][32] __attribute__((aligned(64))) = {
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6},
    {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}};
static const int16_t k6_index[4][32] __attribute__((aligned(64))) = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3},
    {4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11},
    {12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15}};

// Vector v (0…3) of a super-block's 256 unsigned values, in the order q8k_block stores activations.
__attribute__((target(TQ8), always_inline)) static inline __m512i values(int format, const uint8_t *blk, int v) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const int c = v >> 1, h = v & 1;
  if (format == PSR_Q6_K) {
    // Weights 128c + 64h … +63: low (h 0) or high nibbles of ql[64c …], and bits 4h (first 32)
    // or 4h + 2 (next 32) of qh[32c + l].
    const __m512i ql = _mm512_loadu_si512(blk + 64 * c);
    const __m512i nib = h ? _mm512_and_si512(_mm512_srli_epi16(ql, 4), low4) : _mm512_and_si512(ql, low4);
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * c)));
    const __m512i shift = _mm512_inserti64x4(_mm512_set1_epi16(4 * h), _mm256_set1_epi16(4 * h + 2), 1);
    const __m512i top = _mm512_and_si512(_mm512_srlv_epi16(qh, shift), _mm512_set1_epi8(3));
    return _mm512_or_si512(nib, _mm512_slli_epi16(top, 4));
  }
  const uint8_t *qs = blk + (format == PSR_Q5_K ? 48 : 16) + 64 * c;
  const __m512i raw = _mm512_loadu_si512(qs);
  __m512i q = h ? _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4) : _mm512_and_si512(raw, low4);
  if (format == PSR_Q5_K) {
    // Fifth bit of weight l of sub-block j is bit j of qh[l]: sub-blocks 4c + h and 4c + 2 + h.
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 16)));
    const __m512i shift = _mm512_inserti64x4(_mm512_set1_epi16(4 * c + h), _mm256_set1_epi16(4 * c + 2 + h), 1);
    const __m512i bit = _mm512_and_si512(_mm512_srlv_epi16(qh, shift), _mm512_set1_epi8(1));
    q = _mm512_or_si512(q, _mm512_slli_epi16(bit, 4));
  }
  return q;
}

// acc + Σ pairs a·b (int16 × int16 into int32), as one vpdpwssd: the intrinsic lets clang split it
// into vpmaddwd and vpaddd (an extra instruction in the kernels' hottest line, 6% of a prefill).
__attribute__((target(TQ8), always_inline)) static inline __m512i dpwssd(__m512i acc, __m512i a, __m512i b) {
  __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

// The lane sums of four int32 vectors, [Σa, Σb, Σc, Σd] (exact: integer adds in any order).
__attribute__((target(TQ8), always_inline)) static inline __m128i sum4_512(__m512i a, __m512i b, __m512i c, __m512i d) {
  const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
  const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
  const __m512i all = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
  const __m256i half = _mm256_add_epi32(_mm512_castsi512_si256(all), _mm512_extracti64x4_epi64(all, 1));
  return _mm_add_epi32(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
}
__attribute__((target(TQ8), always_inline)) static inline __m128i sum4_256(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
  const __m256i cd = _mm256_add_epi32(_mm256_unpacklo_epi32(c, d), _mm256_unpackhi_epi32(c, d));
  const __m256i all = _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
  return _mm_add_epi32(_mm256_castsi256_si128(all), _mm256_extracti128_si256(all, 1));
}

// R activation rows (q8k_block layout) against W weight rows where they lie: out[w·8 + r]. The
// W·R outputs are kept four to an xmm accumulator, lane o = w·R + r.
#define DEFINE_Q8_ROWS(NAME, FORMAT, BYTES, R, W)                                                                  \
  __attribute__((target(TQ8))) static void NAME(                                                                 \
      int k, const q8k_block *const *x, const uint8_t *rows, long rowBytes, float *out) {                        \
    enum { OUTS = W * R, QUADS = (OUTS + 3) / 4 };                                                               \
    const int16_t(*index)[32] = FORMAT == PSR_Q6_K ? k6_index : k45_index;                                       \
    __m128 acc[QUADS];                                                                                           \
    _Pragma("clang loop unroll(full)") for (int o = 0; o < QUADS; o++) acc[o] = _mm_setzero_ps();                \
    const int count = k / 256;                                                                                   \
    for (int b = 0; b < count; b++) {                                                                            \
      const uint8_t *blk[W];                                                                                     \
      q8_header hd[W];                                                                                           \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                           \
        blk[w] = rows + w * rowBytes + (long)b * BYTES;                                                          \
        /* Fetch each row's block a few ahead, wrapping to the next W rows (see superblock_gemm.c). */        \
        const int ahead = b + PREFETCH_BLOCKS;                                                                   \
        const uintptr_t next = ahead < count ? (uintptr_t)blk[w] + PREFETCH_BLOCKS * BYTES                       \
                                             : (uintptr_t)rows + (w + W) * rowBytes + (long)(ahead - count) * BYTES; \
        for (int line = 0; line < BYTES; line += 64) _mm_prefetch((const char *)(next + line), _MM_HINT_T0);    \
        if (FAR_BLOCKS) {                                                                                        \
          const int far = b + FAR_BLOCKS;                                                                        \
          const uintptr_t there = far < count ? (uintptr_t)blk[w] + FAR_BLOCKS * BYTES                           \
                                              : (uintptr_t)rows + (w + W) * rowBytes + (long)(far - count) * BYTES; \
          for (int line = 0; line < BYTES; line += 64) _mm_prefetch((const char *)(there + line), _MM_HINT_T1);  \
        }                                                                                                        \
        hd[w] = header(FORMAT, blk[w]);                                                                          \
      }                                                                                                          \
      __m512i sum[QUADS * 4];                                                                                    \
      __m256i off[QUADS * 4];                                                                                    \
      _Pragma("clang loop unroll(full)") for (int o = 0; o < QUADS * 4; o++) {                                   \
        sum[o] = _mm512_setzero_si512();                                                                         \
        off[o] = _mm256_setzero_si256();                                                                         \
      }                                                                                                          \
      _Pragma("clang loop unroll(full)") for (int v = 0; v < 4; v++) {                                           \
        __m512i q[W], s[W];                                                                                      \
        const __m512i idx = _mm512_load_si512(index[v]);                                                         \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                         \
          q[w] = values(FORMAT, blk[w], v);                                                                      \
          s[w] = _mm512_permutexvar_epi16(idx, hd[w].scales);                                                    \
        }                                                                                                        \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                         \
          const __m512i xv = _mm512_load_si512(x[r][b].qs + 64 * v);                                             \
          _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                         \
            sum[w * R + r] = dpwssd(sum[w * R + r], _mm512_maddubs_epi16(q[w], xv), s[w]);                       \
        }                                                                                                        \
      }                                                                                                          \
      float f[QUADS * 4], g[QUADS * 4];                                                                          \
      _Pragma("clang loop unroll(full)") for (int o = 0; o < QUADS * 4; o++) f[o] = g[o] = 0;                    \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                           \
        const q8k_block *xb = &x[r][b];                                                                          \
        const __m256i sums = _mm256_load_si256((const __m256i *)xb->sums);                                       \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                         \
          off[w * R + r] = _mm256_madd_epi16(hd[w].mn, sums);                                                    \
          f[w * R + r] = xb->d * hd[w].d;                                                                        \
          g[w * R + r] = xb->d * hd[w].ndmin;                                                                    \
        }                                                                                                        \
      }                                                                                                          \
      _Pragma("clang loop unroll(full)") for (int o = 0; o < QUADS; o++) {                                       \
        const __m128i S = sum4_512(sum[4 * o], sum[4 * o + 1], sum[4 * o + 2], sum[4 * o + 3]);                  \
        const __m128i M = sum4_256(off[4 * o], off[4 * o + 1], off[4 * o + 2], off[4 * o + 3]);                  \
        acc[o] = _mm_fmadd_ps(_mm_cvtepi32_ps(S), _mm_loadu_ps(f + 4 * o), acc[o]);                              \
        acc[o] = _mm_fmadd_ps(_mm_cvtepi32_ps(M), _mm_loadu_ps(g + 4 * o), acc[o]);                              \
      }                                                                                                          \
    }                                                                                                            \
    float all[QUADS * 4];                                                                                        \
    _Pragma("clang loop unroll(full)") for (int o = 0; o < QUADS; o++) _mm_storeu_ps(all + 4 * o, acc[o]);       \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                               \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) out[w * 8 + r] = all[w * R + r];            \
  }

#define DEFINE_Q8_FORMAT(P, FORMAT, BYTES)     \
  DEFINE_Q8_ROWS(P##_w4r1, FORMAT, BYTES, 1, 4) \
  DEFINE_Q8_ROWS(P##_w2r1, FORMAT, BYTES, 1, 2) \
  DEFINE_Q8_ROWS(P##_w2r2, FORMAT, BYTES, 2, 2) \
  DEFINE_Q8_ROWS(P##_w2r4, FORMAT, BYTES, 4, 2) \
  DEFINE_Q8_ROWS(P##_w1r1, FORMAT, BYTES, 1, 1) \
  DEFINE_Q8_ROWS(P##_w1r2, FORMAT, BYTES, 2, 1) \
  DEFINE_Q8_ROWS(P##_w1r4, FORMAT, BYTES, 4, 1)

DEFINE_Q8_FORMAT(q8k4, PSR_Q4_K, 144)
DEFINE_Q8_FORMAT(q8k5, PSR_Q5_K, 176)
DEFINE_Q8_FORMAT(q8k6, PSR_Q6_K, 210)

typedef void (*q8_kernel)(int, const q8k_block *const *, const uint8_t *, long, float *);

// [format][weight rows 1, 2][activation rows 1, 2, 4], and one row over four weight rows.
static const q8_kernel tile_kernels[3][2][3] = {
    {{q8k4_w1r1, q8k4_w1r2, q8k4_w1r4}, {q8k4_w2r1, q8k4_w2r2, q8k4_w2r4}},
    {{q8k5_w1r1, q8k5_w1r2, q8k5_w1r4}, {q8k5_w2r1, q8k5_w2r2, q8k5_w2r4}},
    {{q8k6_w1r1, q8k6_w1r2, q8k6_w1r4}, {q8k6_w2r1, q8k6_w2r2, q8k6_w2r4}}};
static const q8_kernel decode_kernels[3] = {q8k4_w4r1, q8k5_w4r1, q8k6_w4r1};

typedef struct {
  int f, k;
  const uint8_t *blocks;
  long rowBytes;
} q8k_product;

static void q8k_decode(const void *context, int j, const uint8_t *const *x, float *out) {
  const q8k_product *p = context;
  decode_kernels[p->f](p->k, (const q8k_block *const *)x, p->blocks + (long)j * p->rowBytes, p->rowBytes, out);
}

static void q8k_tile(const void *context, int j, int w, int level, const uint8_t *const *x, float *out) {
  const q8k_product *p = context;
  tile_kernels[p->f][w - 1][level](p->k, (const q8k_block *const *)x, p->blocks + (long)j * p->rowBytes, p->rowBytes, out);
}

/// A weight super-block unpacked for the grouped kernel: its values one byte each, in the order
/// the activations are stored; the scale of each sub-block in that order (Q4_K, Q5_K: 8 of 32
/// values, chunk c being sub-block psr_q8k_position's slot[c]; Q6_K: 16 of 16); the offsets as
/// int16 pairs (mn_2i, mn_2i+1) to meet q8k_group's pairs; 128·Σ_j sc_j·Σ_{t in j} q_t; d, −dmin.
typedef struct {
  int8_t q[256];
  int32_t sc[16];
  int32_t mn[8];
  int32_t corr;
  float d, ndmin;
  uint8_t pad[20];
} q8k_unpacked;

_Static_assert(sizeof(q8k_unpacked) == 384, "q8k_unpacked is six cache lines");

__attribute__((target(TQ8), always_inline)) static inline void unpack(int format, const uint8_t *blk, q8k_unpacked *u) {
  const q8_header h = header(format, blk);
  const int16_t(*index)[32] = format == PSR_Q6_K ? k6_index : k45_index;
  __m512i weighted = _mm512_setzero_si512();
  for (int v = 0; v < 4; v++) {
    const __m512i q = values(format, blk, v);
    _mm512_store_si512(u->q + 64 * v, q);
    const __m512i pairs = _mm512_maddubs_epi16(q, _mm512_set1_epi8(1));
    weighted = dpwssd(weighted, pairs, _mm512_permutexvar_epi16(_mm512_load_si512(index[v]), h.scales));
  }
  u->corr = 128 * _mm512_reduce_add_epi32(weighted);
  const __m512i sc = _mm512_cvtepi16_epi32(_mm512_castsi512_si256(h.scales));
  // Chunk c of the stored order is sub-block 0 2 1 3 4 6 5 7 (Q4_K, Q5_K), c itself (Q6_K).
  const __m512i order = format == PSR_Q6_K ? _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
                                           : _mm512_setr_epi32(0, 2, 1, 3, 4, 6, 5, 7, 0, 0, 0, 0, 0, 0, 0, 0);
  _mm512_store_si512(u->sc, _mm512_permutexvar_epi32(order, sc));
  _mm256_store_si256((__m256i *)u->mn, h.mn);
  u->d = h.d;
  u->ndmin = h.ndmin;
}

// 16 activation rows (one q8k_group per super-block) against four unpacked weight rows (nb
// super-blocks each, `stride` apart): out[w·16 + r]. C chunks of P four-value steps a super-block.
#define DEFINE_GROUPED(NAME, C, P)                                                                                \
  __attribute__((target(TQ8))) static void NAME(int nb, const q8k_group *x, const q8k_unpacked *u, long stride,  \
                                                float *out) {                                                    \
    __m512 acc[4];                                                                                               \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < 4; w++) acc[w] = _mm512_setzero_ps();                 \
    for (int b = 0; b < nb; b++) {                                                                               \
      const q8k_group *xb = x + b;                                                                               \
      const q8k_unpacked *wb[4];                                                                                 \
      __m512i S[4], M[4];                                                                                        \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < 4; w++) {                                           \
        wb[w] = u + w * stride + b;                                                                              \
        S[w] = _mm512_set1_epi32(-wb[w]->corr);                                                                  \
        M[w] = _mm512_setzero_si512();                                                                           \
      }                                                                                                          \
      _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) {                                           \
        __m512i T[4];                                                                                            \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < 4; w++) T[w] = _mm512_setzero_si512();            \
        _Pragma("clang loop unroll(full)") for (int p = 0; p < P; p++) {                                         \
          const __m512i av = _mm512_load_si512(xb->v[c * P + p]);                                                \
          _Pragma("clang loop unroll(full)") for (int w = 0; w < 4; w++) {                                       \
            int32_t four;                                                                                        \
            memcpy(&four, wb[w]->q + 4 * (c * P + p), 4);                                                        \
            T[w] = _mm512_dpbusd_epi32(T[w], av, _mm512_set1_epi32(four));                                       \
          }                                                                                                      \
        }                                                                                                        \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < 4; w++)                                           \
          S[w] = _mm512_add_epi32(S[w], _mm512_mullo_epi32(T[w], _mm512_set1_epi32(wb[w]->sc[c])));              \
      }                                                                                                          \
      _Pragma("clang loop unroll(full)") for (int i = 0; i < C / 2; i++) {                                       \
        const __m512i pv = _mm512_load_si512(xb->pairs[i]);                                                      \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < 4; w++)                                           \
          M[w] = dpwssd(M[w], pv, _mm512_set1_epi32(wb[w]->mn[i]));                                              \
      }                                                                                                          \
      const __m512 dx = _mm512_load_ps(xb->d);                                                                   \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < 4; w++) {                                           \
        acc[w] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(S[w]), _mm512_mul_ps(dx, _mm512_set1_ps(wb[w]->d)), acc[w]); \
        acc[w] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(M[w]), _mm512_mul_ps(dx, _mm512_set1_ps(wb[w]->ndmin)), acc[w]); \
      }                                                                                                          \
    }                                                                                                            \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < 4; w++) _mm512_storeu_ps(out + 16 * w, acc[w]);       \
  }

DEFINE_GROUPED(grouped_k45, 8, 8)
DEFINE_GROUPED(grouped_k6, 16, 4)

// The grouped product over weight rows j0 … j1: activation groups in tiles of about 512 KB (they
// stay in L2 while every weight row of the range passes over them), each tile of four weight rows
// unpacked once per activation tile. Returns 0 where the unpacking buffer is refused.
__attribute__((target(TQ8))) static int grouped_walk(
    int format, int m, int k, const q8k_group *x, const uint8_t *blocks, long rowBytes, float *y, long ldy, float beta,
    int j0, int j1) {
  const int nb = k / 256, groups = (m + GROUP_ROWS - 1) / GROUP_ROWS;
  const long bytes = psr_superblock_bytes(format);
  const long groupBytes = (long)nb * (long)sizeof(q8k_group);
  const int tile = (int)fmax(1, fmin(groups, (512 << 10) / (double)groupBytes));
  q8k_unpacked *u = psr_scratch(PSR_SCRATCH_Q8K_UNPACKED, sizeof(q8k_unpacked) * 4 * (size_t)nb);
  if (!u) return 0;
  float out[64];
  for (int g0 = 0; g0 < groups; g0 += tile) {
    const int g1 = g0 + tile < groups ? g0 + tile : groups;
    for (int j = j0; j < j1; j += 4) {
      const int w = j1 - j < 4 ? j1 - j : 4;
      for (int r = 0; r < 4; r++)
        if (r < w)
          for (int b = 0; b < nb; b++) unpack(format, blocks + (long)(j + r) * rowBytes + b * bytes, u + r * nb + b);
        else
          memset(u + r * nb, 0, sizeof(q8k_unpacked) * (size_t)nb);
      for (int g = g0; g < g1; g++) {
        if (format == PSR_Q6_K) grouped_k6(nb, x + (long)g * nb, u, nb, out);
        else grouped_k45(nb, x + (long)g * nb, u, nb, out);
        const int rows = m - g * GROUP_ROWS < GROUP_ROWS ? m - g * GROUP_ROWS : GROUP_ROWS;
        for (int r = 0; r < rows; r++) {
          float *yr = y + (long)(g * GROUP_ROWS + r) * ldy + j;
          for (int c = 0; c < w; c++) yr[c] = (beta == 0 ? 0 : beta * yr[c]) + out[16 * c + r];
        }
      }
    }
  }
  return 1;
}

int psr_superblock_q8_gemm_nt(
    int format, int m, int k, const void *xq, const unsigned char *blocks, float *y, long ldy, float beta, int j0,
    int j1) {
  if (!psr_q8_gemm_supported() || k % 256 != 0) return 0;
  const long rowBytes = (long)(k / 256) * psr_superblock_bytes(format);
  if (grouped(m)) return grouped_walk(format, m, k, xq, blocks, rowBytes, y, ldy, beta, j0, j1);
  const q8k_product product = {format == PSR_Q4_K ? 0 : format == PSR_Q5_K ? 1 : 2, k, blocks, rowBytes};
  const psr_q8_kernels kernels = {q8k_decode, q8k_tile, &product};
  psr_q8_walk(&kernels, m, xq, (long)(k / 256) * (long)sizeof(q8k_block), y, ldy, beta, j0, j1);
  return 1;
}

#else

int psr_q8_gemm_supported(void) { return 0; }

int psr_superblock_q8_gemm_nt(
    int format, int m, int k, const void *xq, const unsigned char *blocks, float *y, long ldy, float beta, int j0,
    int j1) {
  (void)format, (void)m, (void)k, (void)xq, (void)blocks, (void)y, (void)ldy, (void)beta, (void)j0, (void)j1;
  return 0;
}

#endif  // __x86_64__
