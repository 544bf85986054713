// Products of 32-weight block formats (the repacked Q4_0…Q8_0 of psr_quantized_gemm_nt) with 8-bit
// activations, as llama.cpp's q8_0 and q8_1: each activation block of 32 values is quantized to
// int8 with one fp32 scale dx (−max/127 … +max/127, round half to even), and its sum Σa is kept.
//
// For a weight block with scale dw, minimum m (0 for PSR_Q8_0) and unsigned values u_t:
//   Σ_t w_t·x_t ≈ dw·dx·Σ_t u_t·a_t + m·(dx·Σa)
// The integer sum is exact in int32 (vpdpbusd: unsigned bytes times signed bytes, four into each
// lane; |Σ| ≤ 32·255·127 < 2^31). PSR_Q8_0 holds signed q: its bytes are read as u = q + 128 (the
// sign bit flipped) and the accumulator starts at −128·Σa, which the activation block stores, so
// that its integer sum is Σ q·a exactly, as llama.cpp's. The minima's term runs apart: sixteen
// blocks' m·(dx·Σa) as one multiply-add per weight row and activation row.
//
// Two blocks make one 64-byte vector. Q4_1's nibbles load as [b low, b+1 low, b high, b+1 high]
// (16 bytes each), so that the activations are stored in that order; Q8_0 and Q8_1 in natural
// order. Every output is summed in one order whatever the tile, so a sequence decodes the same
// alone or in a batch.
//
// Deviation from llama.cpp: dx and dx·Σa stay fp32 (llama.cpp rounds them to fp16, which loses
// precision below 2^-14 and flushes blocks whose largest value is under about 1e-5 to zero).
#include "psr_kernels.h"
#include "q8_common.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/// Two 32-value activation blocks: 192 bytes, every field a 64-byte vector.
typedef struct {
  int8_t qs[64];       // values in the weight format's order (q8b_position)
  float d[16];         // dx of the block each 32-bit lane of a vpdpbusd sum belongs to
  int32_t bias[16];    // PSR_Q8_0: −128·Σa of block b in lane 0, of block b+1 in lane 8; else 0
} q8b_pair;

_Static_assert(sizeof(q8b_pair) == 192, "q8b_pair is three cache lines");

// A row: its pairs, then dx·Σa of each block, zero-padded to a multiple of 16 blocks.
static inline int pair_count(int k) { return (k / 32 + 1) / 2; }
static inline int sums_count(int k) { return (k / 32 + 15) / 16 * 16; }
static inline long row_bytes(int k) { return (long)pair_count(k) * (long)sizeof(q8b_pair) + 4L * sums_count(k); }

long psr_q8b_rows_bytes(int m, int k) { return (long)m * row_bytes(k); }

// Byte of a pair's 64 holding value t (0…63; t < 32 from block b, the rest from b+1).
static inline int q8b_position(int format, int t) {
  if (format != PSR_Q4_1) return t;
  const int block = t / 32, v = t % 32;
  return 32 * (v / 16) + 16 * block + v % 16;
}

// Lane (of 16) of a vpdpbusd sum holding byte position p: four bytes each.
static inline int lane_block(int format, int lane) {
  // Q4_1: lanes 0–3 and 8–11 are block b, 4–7 and 12–15 block b+1; natural order: 0–7 b, 8–15 b+1.
  return format == PSR_Q4_1 ? (lane / 4) % 2 : lane / 8;
}

void psr_quantize_rows_q8b(int format, int m, int k, const float *x, void *out) {
  const int blocks = k / 32, pairs = pair_count(k);
  const long bytes = row_bytes(k);
  for (int i = 0; i < m; i++) {
    uint8_t *row = (uint8_t *)out + i * bytes;
    q8b_pair *pair = (q8b_pair *)row;
    float *bsum = (float *)(row + (long)pairs * sizeof(q8b_pair));
    memset(row, 0, (size_t)bytes);
    for (int b = 0; b < blocks; b++) {
      const float *v = x + (long)i * k + 32L * b;
      float amax = 0;
      for (int t = 0; t < 32; t++) amax = fabsf(v[t]) > amax ? fabsf(v[t]) : amax;  // NaN leaves it
      q8b_pair *p = &pair[b / 2];
      const int half = b % 2;
      int sum = 0;
      float d = 0;
      if (amax > 0) {
        d = amax / 127;
        const float id = 1 / d;
        for (int t = 0; t < 32; t++) {
          const int n = psr_nearest_int(v[t] * id);
          const int8_t a = (int8_t)(n > 127 ? 127 : n < -127 ? -127 : n);
          p->qs[q8b_position(format, 32 * half + t)] = a;
          sum += a;
        }
      }
      for (int lane = 0; lane < 16; lane++)
        if (lane_block(format, lane) == half) p->d[lane] = d;
      if (format == PSR_Q8_0) p->bias[8 * half] = -128 * sum;
      bsum[b] = d * (float)sum;
    }
  }
}

void psr_q8b_read_block(const void *rows, int k, long row, int block, int format, float *scale, float *sum, signed char *values) {
  const uint8_t *base = (const uint8_t *)rows + row * row_bytes(k);
  const q8b_pair *p = (const q8b_pair *)base + block / 2;
  const int half = block % 2;
  for (int t = 0; t < 32; t++) values[t] = p->qs[q8b_position(format, 32 * half + t)];
  *scale = p->d[format == PSR_Q4_1 ? 4 * half : 8 * half];
  *sum = ((const float *)(base + (long)pair_count(k) * sizeof(q8b_pair)))[block];
}

#if defined(__x86_64__)
#include <immintrin.h>

#define TQ8B "avx2,fma,avx512f,avx512vl,avx512bw,avx512vnni"

// How many pairs ahead each weight row is fetched (decode streams W rows at once; the
// hardware prefetcher alone leaves them at half the speed, as in quantized_gemm.c).
// And how many groups of W rows ahead the same place is fetched into L2: a 576-wide model's row
// is 18 blocks, so the fetch above wraps to the next group almost at once and arrives late. On
// the default model (Zen 4, two rounds) int8 decoding ran 155–171 tok/s without it, 219–221 at
// 2 groups, 183–206 at 4, 194–211 at 8 (experiments/bench).
#ifndef Q8B_FAR_ROWS
#define Q8B_FAR_ROWS 2
#endif
#ifndef Q8B_PREFETCH_PAIRS
#define Q8B_PREFETCH_PAIRS 8
#endif

// Which of a group's 16 blocks each lane's scale comes from, for pair p (0…7) of the group.
static const int32_t q41_lanes[8][16] __attribute__((aligned(64))) = {
#define Q41(p) {2 * p, 2 * p, 2 * p, 2 * p, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, \
                2 * p, 2 * p, 2 * p, 2 * p, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1}
    Q41(0), Q41(1), Q41(2), Q41(3), Q41(4), Q41(5), Q41(6), Q41(7)
#undef Q41
};
static const int32_t q8_lanes[8][16] __attribute__((aligned(64))) = {
#define Q8L(p) {2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, \
                2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1}
    Q8L(0), Q8L(1), Q8L(2), Q8L(3), Q8L(4), Q8L(5), Q8L(6), Q8L(7)
#undef Q8L
};
static const int32_t even_lanes[16] __attribute__((aligned(64))) = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
static const int32_t odd_lanes[16] __attribute__((aligned(64))) = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};

// acc + Σ groups of four u8·s8 products, as one vpdpbusd (the intrinsic may be split otherwise).
__attribute__((target(TQ8B), always_inline)) static inline __m512i dpbusd(__m512i acc, __m512i u, __m512i a) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(a));
  return acc;
}

// The 64 unsigned weight bytes of blocks b and b+1 (only b where `single`) of one row.
__attribute__((target(TQ8B), always_inline)) static inline __m512i weights(int format, const uint8_t *q, int single) {
  if (format == PSR_Q4_1) {
    const __m256i raw = single ? _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)q))
                               : _mm256_loadu_si256((const __m256i *)q);
    const __m512i both = _mm512_broadcast_i64x4(raw);
    const __m512i shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(both, shift), _mm512_set1_epi8(0x0F));
  }
  const __m512i raw = single ? _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)q))
                             : _mm512_loadu_si512(q);
  return format == PSR_Q8_0 ? _mm512_xor_si512(raw, _mm512_set1_epi8((char)0x80)) : raw;
}

// R activation rows (x[r]: a row as psr_quantize_rows_q8b writes it) against W weight rows
// starting at q (quants, qstride bytes a row) and s (scales, sstride floats a row): out[w·8 + r].
#define DEFINE_Q8B_ROWS(NAME, FORMAT, R, W)                                                                      \
  __attribute__((target(TQ8B))) static void NAME(                                                                \
      int k, const uint8_t *const *x, const uint8_t *q, const float *s, long qstride, long sstride, float *out) { \
    enum { QB = FORMAT == PSR_Q4_1 ? 16 : 32, SC = FORMAT == PSR_Q8_0 ? 1 : 2 };                                 \
    const int blocks = k / 32, pairs = pair_count(k);                                                            \
    const long sumsAt = (long)pairs * (long)sizeof(q8b_pair);                                                    \
    const int32_t(*lanes)[16] = FORMAT == PSR_Q4_1 ? q41_lanes : q8_lanes;                                       \
    __m512 acc[W][R], macc[W][R];                                                                                \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                               \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                           \
        acc[w][r] = _mm512_setzero_ps();                                                                         \
        macc[w][r] = _mm512_setzero_ps();                                                                        \
      }                                                                                                          \
    for (int g = 0; g < blocks; g += 16) {                                                                       \
      const int count = blocks - g < 16 ? blocks - g : 16;                                                       \
      __m512 dw16[W], mw16[W];                                                                                   \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                           \
        const float *sw = s + w * sstride + (long)g * SC;                                                        \
        _mm_prefetch((const char *)(sw + Q8B_FAR_ROWS * W * sstride), _MM_HINT_T1);                              \
        _mm_prefetch((const char *)(sw + Q8B_FAR_ROWS * W * sstride) + 64, _MM_HINT_T1);                         \
        if (SC == 1) {                                                                                           \
          dw16[w] = _mm512_maskz_loadu_ps((__mmask16)((1u << count) - 1), sw);                                   \
        } else {                                                                                                 \
          const int n = 2 * count;                                                                               \
          const __m512 lo = _mm512_maskz_loadu_ps((__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1), sw);            \
          const __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(n <= 16 ? 0 : (1u << (n - 16)) - 1), sw + 16);    \
          dw16[w] = _mm512_permutex2var_ps(lo, _mm512_load_si512(even_lanes), hi);                               \
          mw16[w] = _mm512_permutex2var_ps(lo, _mm512_load_si512(odd_lanes), hi);                                \
        }                                                                                                        \
      }                                                                                                          \
      for (int p = 0; p < (count + 1) / 2; p++) {                                                                \
        const int b = g + 2 * p, single = b + 1 == blocks;                                                       \
        const int pair = b / 2;                                                                                  \
        const __m512i sel = _mm512_load_si512(lanes[p]);                                                         \
        __m512i u[W];                                                                                            \
        __m512 dw[W];                                                                                            \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                         \
          const uint8_t *qw = q + w * qstride + (long)b * QB;                                                    \
          const int ahead = pair + Q8B_PREFETCH_PAIRS;                                                           \
          const uintptr_t next = ahead < pairs ? (uintptr_t)qw + Q8B_PREFETCH_PAIRS * 2 * QB                     \
                                               : (uintptr_t)q + (w + W) * qstride + (long)(ahead - pairs) * 2 * QB; \
          _mm_prefetch((const char *)next, _MM_HINT_T0);                                                         \
          _mm_prefetch((const char *)(qw + Q8B_FAR_ROWS * W * qstride), _MM_HINT_T1);                            \
          u[w] = weights(FORMAT, qw, single);                                                                    \
          dw[w] = _mm512_permutexvar_ps(sel, dw16[w]);                                                           \
        }                                                                                                        \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                         \
          const q8b_pair *xp = (const q8b_pair *)x[r] + pair;                                                    \
          const __m512i a = _mm512_load_si512(xp->qs);                                                           \
          const __m512 dx = _mm512_load_ps(xp->d);                                                               \
          const __m512i init = FORMAT == PSR_Q8_0 ? _mm512_load_si512(xp->bias) : _mm512_setzero_si512();        \
          _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                       \
            const __m512i sum = dpbusd(init, u[w], a);                                                           \
            acc[w][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(dw[w], dx), acc[w][r]);            \
          }                                                                                                      \
        }                                                                                                        \
      }                                                                                                          \
      if (SC == 2)                                                                                               \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                         \
          const __m512 sx = _mm512_load_ps((const float *)(x[r] + sumsAt) + g);                                  \
          _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                         \
            macc[w][r] = _mm512_fmadd_ps(mw16[w], sx, macc[w][r]);                                               \
        }                                                                                                        \
    }                                                                                                            \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                               \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                                             \
        out[w * 8 + r] = SC == 2 ? psr_reduce16(acc[w][r]) + psr_reduce16(macc[w][r]) : psr_reduce16(acc[w][r]); \
  }

#define DEFINE_Q8B_FORMAT(P, FORMAT)      \
  DEFINE_Q8B_ROWS(P##_w4r1, FORMAT, 1, 4) \
  DEFINE_Q8B_ROWS(P##_w2r1, FORMAT, 1, 2) \
  DEFINE_Q8B_ROWS(P##_w2r2, FORMAT, 2, 2) \
  DEFINE_Q8B_ROWS(P##_w2r4, FORMAT, 4, 2) \
  DEFINE_Q8B_ROWS(P##_w1r1, FORMAT, 1, 1) \
  DEFINE_Q8B_ROWS(P##_w1r2, FORMAT, 2, 1) \
  DEFINE_Q8B_ROWS(P##_w1r4, FORMAT, 4, 1)

DEFINE_Q8B_FORMAT(q8b41, PSR_Q4_1)
DEFINE_Q8B_FORMAT(q8b80, PSR_Q8_0)
DEFINE_Q8B_FORMAT(q8b81, PSR_Q8_1)

typedef void (*q8b_kernel)(int, const uint8_t *const *, const uint8_t *, const float *, long, long, float *);

// [format][weight rows 1, 2][activation rows 1, 2, 4], and one row over four weight rows.
static const q8b_kernel tile_kernels[3][2][3] = {
    {{q8b41_w1r1, q8b41_w1r2, q8b41_w1r4}, {q8b41_w2r1, q8b41_w2r2, q8b41_w2r4}},
    {{q8b80_w1r1, q8b80_w1r2, q8b80_w1r4}, {q8b80_w2r1, q8b80_w2r2, q8b80_w2r4}},
    {{q8b81_w1r1, q8b81_w1r2, q8b81_w1r4}, {q8b81_w2r1, q8b81_w2r2, q8b81_w2r4}}};
static const q8b_kernel decode_kernels[3] = {q8b41_w4r1, q8b80_w4r1, q8b81_w4r1};

typedef struct {
  int f, k;
  const uint8_t *quants;
  const float *scales;
  long qstride, sstride;
} q8b_product;

static void q8b_decode(const void *context, int j, const uint8_t *const *x, float *out) {
  const q8b_product *p = context;
  decode_kernels[p->f](p->k, x, p->quants + (long)j * p->qstride, p->scales + (long)j * p->sstride, p->qstride, p->sstride, out);
}

static void q8b_tile(const void *context, int j, int w, int level, const uint8_t *const *x, float *out) {
  const q8b_product *p = context;
  tile_kernels[p->f][w - 1][level](
      p->k, x, p->quants + (long)j * p->qstride, p->scales + (long)j * p->sstride, p->qstride, p->sstride, out);
}

int psr_quantized_q8_gemm_nt(
    int format, int m, int k, const void *xq, const unsigned char *quants, const float *scales, float *y, long ldy,
    float beta, int j0, int j1) {
  if (!psr_q8_gemm_supported() || k % 32 != 0 || k <= 0) return 0;
  if (format != PSR_Q4_1 && format != PSR_Q8_0 && format != PSR_Q8_1) return 0;
  // PSR_Q4_1 0, PSR_Q8_0 1, PSR_Q8_1 2: the tables' order.
  const q8b_product product = {
      format, k, quants, scales, (long)(k / 32) * (format == PSR_Q4_1 ? 16 : 32), (long)(k / 32) * (format == PSR_Q8_0 ? 1 : 2)};
  const psr_q8_kernels kernels = {q8b_decode, q8b_tile, &product};
  psr_q8_walk(&kernels, m, xq, row_bytes(k), y, ldy, beta, j0, j1);
  return 1;
}

#else

int psr_quantized_q8_gemm_nt(
    int format, int m, int k, const void *xq, const unsigned char *quants, const float *scales, float *y, long ldy,
    float beta, int j0, int j1) {
  (void)format, (void)m, (void)k, (void)xq, (void)quants, (void)scales, (void)y, (void)ldy, (void)beta, (void)j0,
      (void)j1;
  return 0;
}

#endif  // __x86_64__
