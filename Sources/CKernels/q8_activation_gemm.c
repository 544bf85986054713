// Products of K-quant weights with 8-bit activations, as llama.cpp computes them: each activation
// row is quantized per 256 values to int8 with one fp32 scale (llama.cpp's q8_K: scale −max/127,
// round half to even), and a super-block's product is an exact integer sum, scaled once.
//
// For a weight super-block with sub-block scales sc_g, offsets m_g (Q4_K, Q5_K) and fp16 factors
// d, dmin, and an activation block with scale dx, values a_t and group sums bsum_g (16 values each):
//   Q4_K, Q5_K:  Σ_t w_t·x_t ≈ dx·d·Σ_t sc_g(t)·q_t·a_t − dx·dmin·Σ_g m_{g/2}·bsum_g
//   Q6_K:        Σ_t w_t·x_t ≈ dx·d·Σ_t sc_g(t)·q_t·a_t − dx·32·d·Σ_g sc_g·bsum_g   (q_t = stored 0…63)
// The first sum is exact in int32 (|sc·q·a| ≤ 128·63·127, 256 of them: < 2^31) and scaled once;
// the offsets' sum runs in fp32 as one 16-lane multiply-add of (−dmin·m or −32·d·sc) with
// dx·bsum_g, which the activation block stores. Beyond the activations' quantization, the only
// rounding is that of these fp32 products and the two multiply-adds per super-block.
// The inner products are vpmaddubsw (unsigned weights × signed activations, pairs to int16, no
// saturation: 2·63·127 < 2^15) and vpdpwssd (VNNI: int16 pairs times the int16 scales into int32).
//
// Activations are stored in each format's weight order (q8k_rows below), so that every load is
// one contiguous 64-byte vector. Every output is summed in one order whatever the number of rows
// or the tile, so a sequence decodes the same alone or in a batch.
#include "psr_kernels.h"
#include "q8_common.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/// One 256-value block of a quantized activation row: 384 bytes, so that qs and fsums stay
/// 64-byte aligned.
typedef struct {
  int8_t qs[256];      // in the weight format's order (psr_q8k_position)
  float fsums[16];     // d · bsums[g]: what the weights' offsets multiply, as one vector
  int16_t bsums[16];   // sums of values 16g … 16g + 15 in natural order (llama.cpp's bsums)
  float d;             // value t ≈ d · a_t
  uint8_t pad[28];
} q8k_block;

_Static_assert(sizeof(q8k_block) == 384, "q8k_block is six cache lines");

long psr_q8k_rows_bytes(int m, int k) { return (long)m * (k / 256) * (long)sizeof(q8k_block); }

int psr_q8k_position(int format, int t) {
  if (format == PSR_Q6_K) return t;
  // Q4_K and Q5_K: a 64-byte vector of nibbles holds sub-blocks (4c + h, 4c + 2 + h); sub-block
  // order 0 2 1 3 4 6 5 7.
  static const int slot[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  return 32 * slot[t / 32] + t % 32;
}

void psr_quantize_rows_q8k(int format, int m, int k, const float *x, void *out) {
  q8k_block *blocks = out;
  const int per_row = k / 256;
  int position[256];
  for (int t = 0; t < 256; t++) position[t] = psr_q8k_position(format, t);
  for (long b = 0; b < (long)m * per_row; b++) {
    const float *v = x + b * 256;
    q8k_block *q = &blocks[b];
    float max = 0, amax = 0;
    for (int t = 0; t < 256; t++) {
      const float a = fabsf(v[t]);
      if (a > amax) { amax = a; max = v[t]; }
    }
    memset(q, 0, sizeof *q);
    if (amax == 0) continue;  // d 0, every value 0 (also for NaN rows: amax stays 0)
    const float iscale = -127.f / max;
    int8_t natural[256];
    for (int t = 0; t < 256; t++) {
      const int n = psr_nearest_int(iscale * v[t]);
      natural[t] = (int8_t)(n > 127 ? 127 : n < -127 ? -127 : n);
    }
    for (int g = 0; g < 16; g++) {
      int sum = 0;
      for (int t = 16 * g; t < 16 * g + 16; t++) sum += natural[t];
      q->bsums[g] = (int16_t)sum;
    }
    for (int t = 0; t < 256; t++) q->qs[position[t]] = natural[t];
    q->d = 1 / iscale;
    for (int g = 0; g < 16; g++) q->fsums[g] = q->d * (float)q->bsums[g];
  }
}

void psr_q8k_read_block(const void *rows, long index, int format, float *scale, signed char *values, short *sums) {
  const q8k_block *q = (const q8k_block *)rows + index;
  *scale = q->d;
  for (int t = 0; t < 256; t++) values[t] = q->qs[psr_q8k_position(format, t)];
  memcpy(sums, q->bsums, sizeof q->bsums);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define TQ8 "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni"
// How many super-blocks ahead each weight row is fetched: on the Gemma-3-4B-shape decode (first
// version of these kernels, AMD EPYC Zen 4) 8 measured 7.1 tok/s
// against 5.4 with none and 6.2 with 2 (the fp32 kernels' distance).
#ifndef PREFETCH_BLOCKS
#define PREFETCH_BLOCKS 2
#endif
#ifndef FAR_BLOCKS
#define FAR_BLOCKS 16
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
/// of `scales`), the fp32 factor of the integer sum (`dmain`), and per group g of 16 activations
/// the fp32 factor of d_x·bsum_g (`corr`: −dmin·m_{g/2} for Q4_K and Q5_K, −32·d·sc_g for Q6_K),
/// so that the offsets cost one multiply-add per row pair and super-block.
typedef struct {
  __m512i scales;
  __m512 corr;
  float dmain;
} q8_header;

__attribute__((target(TQ8), always_inline)) static inline q8_header header(int format, const uint8_t *blk) {
  q8_header h;
  if (format == PSR_Q6_K) {
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
    h.scales = _mm512_zextsi256_si512(sc);
    h.dmain = half(blk + 208);
    h.corr = _mm512_mul_ps(_mm512_set1_ps(-32 * h.dmain), _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(sc)));
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
  // Group g of 16 activations lies in sub-block g / 2: each minimum twice.
  const __m128i minimums = _mm_srli_si128(both, 8);
  const __m512 m = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_unpacklo_epi8(minimums, minimums)));
  h.dmain = _mm_cvtss_f32(factors);
  h.corr = _mm512_mul_ps(_mm512_set1_ps(-_mm_cvtss_f32(_mm_movehdup_ps(factors))), m);
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

// R activation rows against W weight rows: out[w·8 + r].
#define DEFINE_Q8_ROWS(NAME, FORMAT, BYTES, R, W)                                                                  \
  __attribute__((target(TQ8))) static void NAME(                                                                 \
      int k, const q8k_block *const *x, const uint8_t *rows, long rowBytes, float *out) {                        \
    const int16_t(*index)[32] = FORMAT == PSR_Q6_K ? k6_index : k45_index;                                       \
    __m512 acc[W][R];                                                                                            \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                               \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) acc[w][r] = _mm512_setzero_ps();            \
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
      __m512i sum[W][R];                                                                                         \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                             \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) sum[w][r] = _mm512_setzero_si512();       \
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
            sum[w][r] = dpwssd(sum[w][r], _mm512_maddubs_epi16(q[w], xv), s[w]);                                 \
        }                                                                                                        \
      }                                                                                                          \
      __m512 dw[W];                                                                                              \
      _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) dw[w] = _mm512_set1_ps(hd[w].dmain);        \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                           \
        const q8k_block *xb = &x[r][b];                                                                          \
        const __m512 dx = _mm512_set1_ps(xb->d), sums = _mm512_load_ps(xb->fsums);                               \
        _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++) {                                         \
          acc[w][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[w][r]), _mm512_mul_ps(dw[w], dx), acc[w][r]);       \
          acc[w][r] = _mm512_fmadd_ps(hd[w].corr, sums, acc[w][r]);                                              \
        }                                                                                                        \
      }                                                                                                          \
    }                                                                                                            \
    _Pragma("clang loop unroll(full)") for (int w = 0; w < W; w++)                                               \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) out[w * 8 + r] = psr_reduce16(acc[w][r]);   \
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

int psr_superblock_q8_gemm_nt(
    int format, int m, int k, const void *xq, const unsigned char *blocks, float *y, long ldy, float beta, int j0,
    int j1) {
  if (!psr_q8_gemm_supported() || k % 256 != 0) return 0;
  const q8k_product product = {
      format == PSR_Q4_K ? 0 : format == PSR_Q5_K ? 1 : 2, k, blocks, (long)(k / 256) * psr_superblock_bytes(format)};
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
