// x86-64 only: elsewhere portable.c defines these entry points.
#if defined(__x86_64__)
#include "panel_gemm.h"

#include "scratch.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

// y = x·Wᵀ for many rows of x, with 512-bit vectors, in the decode kernels' summation order.
//
// Each output y[i][j] is the horizontal sum of a 16-lane accumulator in which lane l gathers
// x[i][t]·w[j][t] for t ≡ l (mod 16), chunk by chunk in increasing t, reduced as the decode
// kernels reduce (upper 256 bits onto the lower, then psr_hsum8). Given the same fp32 weights,
// every output is therefore bitwise what the decode kernels give, for any number of rows.
//
// What changes is where the weights come from: a block of NC weight rows × KC columns is
// expanded once into an fp32 panel in L1 and then used by every row of x, where the decode
// kernels expand each block again for every 8 rows and stream those rows from L2. A 6×4 tile of
// outputs takes 6 + 4 loads per 24 FMAs. The accumulators of a tile live in a scratch block
// (MC × NC vectors, in L2) between the KC-wide steps of k, so that both the panel and the
// activations of a step stay in cache.

#define TZ "avx2,fma,f16c,avx512f,avx512vl,avx512bw"
#define TZ16 TZ ",avx512bf16"
#define MR 6
#define NR 4
// Measured on one core, m = 512, k = 1536 (2026-11-29): NC 32 × MC 120 × KC 256 ran 55–59 G
// multiply-adds/s; 16 × 240 × 256 43–52, 16 × 120 × 512 46–58, MC 36–60 lower still.
#define NC 32
#define MC 120
#define KC 256
#ifndef KC_BF16
// bf16 steps, measured the same way with bf16 panels (2026-12-06): 512 with the last half step
// joined ran 72–88 GMAC/s at k = 576 and 1536, 256 41–72.
#define KC_BF16 512
#endif

// Where a tile's last KC step writes its sums: y[r·ldy + c] = beta·y + alpha·sum.
typedef struct {
  float *y;
  long ldy;
  float alpha, beta;
} tile_output;

// The decode kernels' reduction of one accumulator: the upper 256 bits onto the lower.
__attribute__((target(TZ), always_inline)) static inline __m256 fold(__m512 v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// The sums of four accumulators, each in psr_hsum8's order ((v0 + v1) + (v2 + v3)) +
// ((v4 + v5) + (v6 + v7)) over its folded lanes, so that they equal the decode kernels' bits.
__attribute__((target(TZ), always_inline)) static inline __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m256 ab = _mm256_hadd_ps(fold(a), fold(b)), cd = _mm256_hadd_ps(fold(c), fold(d));
  const __m256 quads = _mm256_hadd_ps(ab, cd);
  return _mm_add_ps(_mm256_castps256_ps128(quads), _mm256_extractf128_ps(quads, 1));
}

// fp32 products: 16 multiply-adds per instruction.
__attribute__((target(TZ), always_inline)) static inline __m512 madd_f32(__m512 acc, __m512 x, __m512 w) {
  return _mm512_fmadd_ps(x, w, acc);
}
// bf16 products: a 64-byte chunk holds 32 bf16, and lane l gathers x[2l]·w[2l] + x[2l+1]·w[2l+1]
// in fp32 (vdpbf16ps: 32 multiply-adds per instruction, products exact, sums rounded to fp32).
__attribute__((target(TZ16), always_inline)) static inline __m512 madd_bf16(__m512 acc, __m512 x, __m512 w) {
  return _mm512_dpbf16_ps(acc, (__m512bh)x, (__m512bh)w);
}

// Tile of R rows × C weight rows over `chunks` 64-byte chunks (16 floats or 32 bf16; for fp32,
// plus `tail` < 16 more floats, zero-padded): accumulators start at zero on the first KC step,
// else from the scratch; they return to it, or on the last step (`out` not NULL) are summed
// into y. The bf16 tiles read both operands as float-typed chunks of the same bytes.
#define DEFINE_TILE(R, C) DEFINE_TILE_OF(R, C, , TZ, madd_f32) DEFINE_TILE_OF(R, C, _bf16, TZ16, madd_bf16)
#define DEFINE_TILE_OF(R, C, SUFFIX, TARGET, MADD)                                                            \
  __attribute__((target(TARGET))) static void tile_##R##x##C##SUFFIX(                                        \
      int chunks, int tail, const float *x, const float *w, long ldw, __m512 *acc_out, int first,              \
      const tile_output *out) {                                                                               \
    __m512 acc[R][C];                                                                                         \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                                                                               \
      _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) acc[r][c] = first ? _mm512_setzero_ps() : acc_out[r * NC + c];            \
    const float *xt = x, *wt = w;                                                                             \
    for (int t = 0; t < chunks; t++, xt += MR * 16, wt += 16) {                                                \
      __m512 wv[C];                                                                                           \
      _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) wv[c] = _mm512_loadu_ps(wt + c * ldw);                                      \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                           \
        const __m512 xv = _mm512_load_ps(xt + r * 16);                                                         \
        _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) acc[r][c] = MADD(acc[r][c], xv, wv[c]);                        \
      }                                                                                                       \
    }                                                                                                         \
    if (tail) {                                                                                               \
      const __mmask16 mask = (__mmask16)((1u << tail) - 1);                                                   \
      __m512 wv[C];                                                                                           \
      _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) wv[c] = _mm512_maskz_loadu_ps(mask, w + c * ldw + 16 * chunks);           \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                           \
        const __m512 xv = _mm512_load_ps(x + (chunks * MR + r) * 16);                                          \
        _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) acc[r][c] = MADD(acc[r][c], xv, wv[c]);                        \
      }                                                                                                       \
    }                                                                                                         \
    if (!out) {                                                                                               \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                                                                             \
        _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) acc_out[r * NC + c] = acc[r][c];                                          \
      return;                                                                                                 \
    }                                                                                                         \
    const __m128 va = _mm_set1_ps(out->alpha), vb = _mm_set1_ps(out->beta);                                   \
    _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                                                             \
      const __m512 z = _mm512_setzero_ps();                                                                   \
      __m128 sums = _mm_mul_ps(va, sum4(acc[r][0], C > 1 ? acc[r][1 % C] : z, C > 2 ? acc[r][2 % C] : z,       \
                                        C > 3 ? acc[r][3 % C] : z));                                           \
      float *yr = out->y + r * out->ldy;                                                                      \
      if (C == 4) {                                                                                           \
        if (out->beta != 0) sums = _mm_add_ps(_mm_mul_ps(vb, _mm_loadu_ps(yr)), sums);                       \
        _mm_storeu_ps(yr, sums);                                                                              \
      } else {                                                                                                \
        float s[4], old[4] = {0, 0, 0, 0};                                                                    \
        _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) old[c] = yr[c];                                                           \
        if (out->beta != 0) sums = _mm_add_ps(_mm_mul_ps(vb, _mm_loadu_ps(old)), sums);                      \
        _mm_storeu_ps(s, sums);                                                                               \
        _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) yr[c] = s[c];                                                             \
      }                                                                                                       \
    }                                                                                                         \
  }

#define DEFINE_TILE_ROW(R) DEFINE_TILE(R, 1) DEFINE_TILE(R, 2) DEFINE_TILE(R, 3) DEFINE_TILE(R, 4)
DEFINE_TILE_ROW(1)
DEFINE_TILE_ROW(2)
DEFINE_TILE_ROW(3)
DEFINE_TILE_ROW(4)
DEFINE_TILE_ROW(5)
DEFINE_TILE_ROW(6)

typedef void (*tile_fn)(int, int, const float *, const float *, long, __m512 *, int, const tile_output *);
#define TILE_ROW(R, S) {tile_##R##x1##S, tile_##R##x2##S, tile_##R##x3##S, tile_##R##x4##S}
static const tile_fn tiles[2][MR][NR] = {
    {TILE_ROW(1, ), TILE_ROW(2, ), TILE_ROW(3, ), TILE_ROW(4, ), TILE_ROW(5, ), TILE_ROW(6, )},
    {TILE_ROW(1, _bf16), TILE_ROW(2, _bf16), TILE_ROW(3, _bf16), TILE_ROW(4, _bf16), TILE_ROW(5, _bf16), TILE_ROW(6, _bf16)}};

int psr_panel_gemm_supported(void) {
  static int supported = -1;
  if (supported < 0) {
    __builtin_cpu_init();
    supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("f16c");
  }
  return supported;
}

int psr_bf16_gemm_supported(void) {
  static int supported = -1;
  if (supported < 0) {
    __builtin_cpu_init();
    supported = psr_panel_gemm_supported() && __builtin_cpu_supports("avx512bf16");
  }
  return supported;
}

typedef struct {
  const float *w;
  long ldw;
} psr_dense_rows;


long psr_packed_rows_floats(int m, int k) { return (long)((m + MR - 1) / MR) * MR * ((k + 15) / 16) * 16; }

// A 64-byte chunk of fp32 values: 16 of them from p, zero past `left`.
__attribute__((target(TZ), always_inline)) static inline __m512 chunk_f32(const float *p, int left) {
  return _mm512_maskz_loadu_ps(left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1), p);
}

// A 64-byte chunk of bf16 values: 32 of them from p, zero past `left`, rounded to nearest even
// (NaN stays NaN; vcvtne2ps2bf16 flushes denormal inputs, far below any activation that counts).
__attribute__((target(TZ16), always_inline)) static inline __m512 chunk_bf16(const float *p, int left) {
  const __m512 lo = chunk_f32(p, left), hi = left > 16 ? chunk_f32(p + 16, left - 16) : _mm512_setzero_ps();
  return (__m512)_mm512_cvtne2ps_pbh(hi, lo);
}

// Rows of x as slivers of MR rows: sliver s, chunk t of `width` columns (16 fp32 or 32 bf16, 64
// bytes either way), row r at out[((s·chunks + t)·MR + r)·16], zero past k and past the last row,
// so that a tile reads one contiguous stream however far apart the rows lie.
__attribute__((target(TZ), always_inline)) static inline void pack_rows(
    const float *x, long ldx, int m, int k, int s0, int s1, float *out, int width, __m512 (*chunk)(const float *, int)) {
  const int chunks = (k + width - 1) / width;
  for (int s = s0; s < s1; s++)
    for (int r = 0; r < MR; r++) {
      float *o = out + ((long)s * chunks * MR + r) * 16;
      if (s * MR + r >= m) {
        for (int t = 0; t < chunks; t++) _mm512_store_ps(o + (long)t * MR * 16, _mm512_setzero_ps());
        continue;
      }
      const float *xr = x + (long)(s * MR + r) * ldx;
      for (int t = 0; t < chunks; t++) _mm512_store_ps(o + (long)t * MR * 16, chunk(xr + width * t, k - width * t));
    }
}

__attribute__((target(TZ))) void psr_pack_rows(const float *x, long ldx, int m, int k, int s0, int s1, float *out) {
  pack_rows(x, ldx, m, k, s0, s1, out, 16, chunk_f32);
}

long psr_packed_rows_bf16_floats(int m, int k) { return (long)((m + MR - 1) / MR) * MR * ((k + 31) / 32) * 16; }

__attribute__((target(TZ16))) void psr_pack_rows_bf16(const float *x, long ldx, int m, int k, int s0, int s1, float *out) {
  pack_rows(x, ldx, m, k, s0, s1, out, 32, chunk_bf16);
}

// Rows [0, rows) of an fp32 panel (row stride ldi floats, `len` columns) as bf16, zero-padded to
// whole 32-column chunks, at row stride ldo floats' bytes.
__attribute__((target(TZ16))) static void panel_to_bf16(const float *in, long ldi, int rows, int len, float *out, long ldo) {
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < len; t += 32) _mm512_storeu_ps(out + r * ldo + t / 2, chunk_bf16(in + r * ldi + t, len - t));
}

__attribute__((target(TZ))) int psr_panel_gemm_nt(
    const psr_weight_panels *weights, int m, int k, const float *packed, int bf16, float *y, long ldy, float alpha,
    float beta, int j0, int j1) {
  if (m <= 0 || j0 >= j1) return 1;
  if (bf16 && !psr_bf16_gemm_supported()) return 0;
  // A step is a whole number of weight blocks and, for bf16, of 32-column chunks (every block
  // size divides 256, so it is KC or KC_BF16 in practice). A bf16 chunk holds twice the columns,
  // so its steps are twice as wide for as many chunks between the accumulators' round trips to
  // the scratch; and a last step of at most half a step joins the one before (`span`): k = 576
  // then runs as one step, where a 64-column second step measured 57 against 78 GMAC/s (m 512,
  // one core, 2026-12-06).
  const int step = (bf16 ? KC_BF16 : KC) / weights->block * weights->block;
  if (bf16 && step % 64) return 0;
  const int span = bf16 ? step + step / 2 : step;
  const int width = bf16 ? 32 : 16, chunks = (k + width - 1) / width;
  __m512 *acc = psr_scratch(PSR_SCRATCH_PANEL_ACC, sizeof(__m512) * MC * NC);
  float *panel = psr_scratch(PSR_SCRATCH_PANEL_WEIGHTS, sizeof(float) * NC * span * (bf16 ? 3 : 2) / 2);
  if (!acc || !panel) return 0;
  // bf16: the weights are expanded to fp32 as always, then rounded into a bf16 panel before them,
  // or written as bf16 at once where their format can (expand_bf16).
  float *const wide = panel + (long)NC * span / 2;
  const long ldw = bf16 ? span / 2 : span;
  for (int ic = 0; ic < m; ic += MC) {
    const int rows = m - ic < MC ? m - ic : MC;
    for (int jc = j0; jc < j1; jc += NC) {
      const int cols = j1 - jc < NC ? j1 - jc : NC;
      for (int t0 = 0, len; t0 < k; t0 += len) {
        len = k - t0 <= span ? k - t0 : step;
        if (bf16 && weights->expand_bf16 && len % 32 == 0) {
          weights->expand_bf16(weights->context, jc, cols, t0, len, panel, ldw);
        } else if (bf16) {
          weights->expand(weights->context, jc, cols, t0, len, wide, span);
          panel_to_bf16(wide, span, cols, len, panel, ldw);
        } else {
          weights->expand(weights->context, jc, cols, t0, len, panel, span);
        }
        const int full = bf16 ? (len + 31) / 32 : len / 16, tail = bf16 ? 0 : len % 16;
        for (int ir = 0; ir < rows; ir += MR) {
          const int r = rows - ir < MR ? rows - ir : MR;
          const float *xs = packed + ((long)((ic + ir) / MR) * chunks + t0 / width) * MR * 16;
          for (int jr = 0; jr < cols; jr += NR) {
            const int c = cols - jr < NR ? cols - jr : NR;
            const tile_output out = {y + (long)(ic + ir) * ldy + jc + jr, ldy, alpha, beta};
            tiles[bf16 != 0][r - 1][c - 1](
                full, tail, xs, panel + (long)jr * ldw, ldw, acc + ir * NC + jr, t0 == 0, t0 + len == k ? &out : NULL);
          }
        }
      }
    }
  }
  return 1;
}

// Dense rows are copied into the panel too: read from there they stay in L1 for every tile.
static void copy_rows(const void *context, int j, int rows, int t0, int len, float *out, long ldo) {
  const psr_dense_rows *source = context;
  for (int r = 0; r < rows; r++) memcpy(out + r * ldo, source->w + (long)(j + r) * source->ldw + t0, sizeof(float) * len);
}

int psr_dense_gemm_nt(
    int m, int k, const float *packed, int bf16, const float *w, long ldw, float *y, long ldy, float alpha, float beta,
    int j0, int j1) {
  if (!psr_panel_gemm_supported()) return 0;
  const psr_dense_rows rows = {w, ldw};
  const psr_weight_panels panels = {copy_rows, &rows, 1, NULL};
  return psr_panel_gemm_nt(&panels, m, k, packed, bf16, y, ldy, alpha, beta, j0, j1);
}

typedef struct {
  const unsigned char *rows;
  long k;
} float_rows;

// fp32, fp16 and bf16 rows into the panel: exact conversions, 16 at a time, the last masked.
// Each row's next chunk (or, at the row's end, the first chunk of the same row of the next
// panel) is fetched meanwhile: with few rows of x the product streams the weights, and the
// hardware prefetcher alone left them at half the memory's speed. A prefetch never faults.
#define DEFINE_EXPAND_FLOATS(NAME, BYTES, LOAD)                                                               \
  __attribute__((target(TZ))) static void NAME(                                                              \
      const void *context, int j, int rows, int t0, int len, float *out, long ldo) {                        \
    const float_rows *source = context;                                                                      \
    for (int r = 0; r < rows; r++) {                                                                         \
      const unsigned char *row = source->rows + ((long)(j + r) * source->k + t0) * BYTES;                    \
      const uintptr_t next = t0 + len < source->k                                                            \
                                 ? (uintptr_t)row + (long)len * BYTES                                        \
                                 : (uintptr_t)source->rows + (long)(j + r + rows) * source->k * BYTES;       \
      for (long line = 0; line < (long)len * BYTES; line += 64) _mm_prefetch((const char *)(next + line), _MM_HINT_T0); \
      for (int t = 0; t < len; t += 16) {                                                                    \
        const __mmask16 mask = len - t >= 16 ? 0xFFFF : (__mmask16)((1u << (len - t)) - 1);                   \
        _mm512_storeu_ps(out + r * ldo + t, LOAD(mask, row + (long)t * BYTES));                             \
      }                                                                                                      \
    }                                                                                                        \
  }

__attribute__((target(TZ), always_inline)) static inline __m512 load_f32(__mmask16 mask, const unsigned char *p) {
  return _mm512_maskz_loadu_ps(mask, p);
}
__attribute__((target(TZ), always_inline)) static inline __m512 load_f16(__mmask16 mask, const unsigned char *p) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
}
__attribute__((target(TZ), always_inline)) static inline __m512 load_bf16(__mmask16 mask, const unsigned char *p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, p)), 16));
}

DEFINE_EXPAND_FLOATS(expand_f32, 4, load_f32)
DEFINE_EXPAND_FLOATS(expand_f16, 2, load_f16)
DEFINE_EXPAND_FLOATS(expand_bf16, 2, load_bf16)

// Few rows of x against float weight rows read where they lie (psr_float_rows_gemv). Each
// weight chunk is converted in registers exactly as the panel path converts it (fp32: the exact
// expansion; bf16: that expansion rounded by chunk_bf16, which for bf16 rows is the stored bits
// themselves), and each output's accumulator takes the same chunks in the same order, is summed
// by the same sum4 and scaled as the panel tiles scale it: the bits of psr_float_rows_gemm_nt.
// The panel path writes every weight to L1 and reads it back, a cost that few rows of x do not
// amortise.
#define F32_CHUNK(NAME, LOAD, BYTES)                                                                        \
  __attribute__((target(TZ), always_inline)) static inline __m512 NAME(const unsigned char *row, int t, int k) { \
    const int left = k - 16 * t;                                                                          \
    return LOAD(left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1), row + (long)t * 16 * BYTES);          \
  }
F32_CHUNK(f32_chunk_f32, load_f32, 4)
F32_CHUNK(f32_chunk_f16, load_f16, 2)
F32_CHUNK(f32_chunk_bf16, load_bf16, 2)

__attribute__((target(TZ16), always_inline)) static inline __m512 bf16_chunk_f32(const unsigned char *row, int t, int k) {
  return chunk_bf16((const float *)row + 32 * t, k - 32 * t);
}
__attribute__((target(TZ16), always_inline)) static inline __m512 bf16_chunk_f16(const unsigned char *row, int t, int k) {
  const int left = k - 32 * t;
  const unsigned char *p = row + (long)t * 64;
  const __m512 lo = load_f16(left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1), p);
  const __m512 hi = left > 16 ? load_f16(left >= 32 ? 0xFFFF : (__mmask16)((1u << (left - 16)) - 1), p + 32) : _mm512_setzero_ps();
  return (__m512)_mm512_cvtne2ps_pbh(hi, lo);
}
// A bf16 row's own bits: what chunk_bf16 gives back from their exact fp32 expansion (denormals,
// which it flushes, vdpbf16ps treats as zero either way).
__attribute__((target(TZ16), always_inline)) static inline __m512 bf16_chunk_bf16(const unsigned char *row, int t, int k) {
  const int left = k - 32 * t;
  return _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(left >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << left) - 1), row + (long)t * 64));
}

// One sliver of R packed rows against weight rows j0 … j1 - 1, four at a time.
#define DEFINE_DIRECT_OF(NAME, TARGET, R, WIDTH, CHUNK, MADD)                                                 \
  __attribute__((target(TARGET))) static void NAME(                                                          \
      int k, const float *xs, const unsigned char *w, long rowBytes, float *y, long ldy, float beta, int j0, int j1) { \
    const int chunks = (k + WIDTH - 1) / WIDTH;                                                              \
    const __m128 vb = _mm_set1_ps(beta);                                                                     \
    for (int j = j0; j < j1; j += NR) {                                                                      \
      const int c = j1 - j < NR ? j1 - j : NR;                                                               \
      const unsigned char *row[NR];                                                                          \
      /* Past the last weight row, repeat it: each output's sum reads only its own accumulator. */         \
      _Pragma("clang loop unroll(full)") for (int q = 0; q < NR; q++) row[q] = w + (long)(j + (q < c ? q : 0)) * rowBytes; \
      __m512 acc[R][NR];                                                                                     \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++)                                         \
        _Pragma("clang loop unroll(full)") for (int q = 0; q < NR; q++) acc[r][q] = _mm512_setzero_ps();     \
      for (int t = 0; t < chunks; t++) {                                                                     \
        __m512 wv[NR];                                                                                       \
        /* The same place in the next four rows into L1, and four groups on into L2, so that they */    \
        /* arrive while these are multiplied: rows of a few kB are too short for the hardware */          \
        /* prefetcher to follow four at once. A bf16 checkpoint of SmolLM2 decoded at 72-75 tok/s with */ \
        /* the first fetch alone, 97-123 with L2 fetches 4 groups on, 99-103 at 8, 87-97 at 16. */       \
        _Pragma("clang loop unroll(full)") for (int q = 0; q < NR; q++)                                      \
          _mm_prefetch((const char *)row[q] + NR * rowBytes + (long)t * WIDTH * (rowBytes / k), _MM_HINT_T0); \
        _Pragma("clang loop unroll(full)") for (int q = 0; q < NR; q++)                                      \
          _mm_prefetch((const char *)row[q] + 4 * NR * rowBytes + (long)t * WIDTH * (rowBytes / k), _MM_HINT_T1); \
        _Pragma("clang loop unroll(full)") for (int q = 0; q < NR; q++) wv[q] = CHUNK(row[q], t, k);         \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                     \
          const __m512 xv = _mm512_load_ps(xs + ((long)t * MR + r) * 16);                                     \
          _Pragma("clang loop unroll(full)") for (int q = 0; q < NR; q++) acc[r][q] = MADD(acc[r][q], xv, wv[q]); \
        }                                                                                                    \
      }                                                                                                      \
      _Pragma("clang loop unroll(full)") for (int r = 0; r < R; r++) {                                       \
        /* The tiles' alpha is 1 here, and a product with 1 is exact, so it is left out. */                \
        __m128 sums = sum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);                                      \
        float *yr = y + r * ldy + j, s[4], old[4] = {0, 0, 0, 0};                                            \
        for (int q = 0; q < c; q++) old[q] = yr[q];                                                          \
        if (beta != 0) sums = _mm_add_ps(_mm_mul_ps(vb, _mm_loadu_ps(old)), sums);                           \
        _mm_storeu_ps(s, sums);                                                                              \
        for (int q = 0; q < c; q++) yr[q] = s[q];                                                            \
      }                                                                                                      \
    }                                                                                                        \
  }
#define DEFINE_DIRECT_TYPE(P, TYPE)                                                                         \
  DEFINE_DIRECT_OF(P##_1, TZ, 1, 16, f32_chunk_##TYPE, madd_f32)                                          \
  DEFINE_DIRECT_OF(P##_2, TZ, 2, 16, f32_chunk_##TYPE, madd_f32)                                          \
  DEFINE_DIRECT_OF(P##_3, TZ, 3, 16, f32_chunk_##TYPE, madd_f32)                                          \
  DEFINE_DIRECT_OF(P##_4, TZ, 4, 16, f32_chunk_##TYPE, madd_f32)                                          \
  DEFINE_DIRECT_OF(P##_5, TZ, 5, 16, f32_chunk_##TYPE, madd_f32)                                          \
  DEFINE_DIRECT_OF(P##_6, TZ, 6, 16, f32_chunk_##TYPE, madd_f32)                                          \
  DEFINE_DIRECT_OF(P##_1_bf16, TZ16, 1, 32, bf16_chunk_##TYPE, madd_bf16)                                 \
  DEFINE_DIRECT_OF(P##_2_bf16, TZ16, 2, 32, bf16_chunk_##TYPE, madd_bf16)                                 \
  DEFINE_DIRECT_OF(P##_3_bf16, TZ16, 3, 32, bf16_chunk_##TYPE, madd_bf16)                                 \
  DEFINE_DIRECT_OF(P##_4_bf16, TZ16, 4, 32, bf16_chunk_##TYPE, madd_bf16)                                 \
  DEFINE_DIRECT_OF(P##_5_bf16, TZ16, 5, 32, bf16_chunk_##TYPE, madd_bf16)                                 \
  DEFINE_DIRECT_OF(P##_6_bf16, TZ16, 6, 32, bf16_chunk_##TYPE, madd_bf16)
DEFINE_DIRECT_TYPE(direct_f32, f32)
DEFINE_DIRECT_TYPE(direct_f16, f16)
DEFINE_DIRECT_TYPE(direct_bf16, bf16)

typedef void (*direct_fn)(int, const float *, const unsigned char *, long, float *, long, float, int, int);
#define DIRECT_ROW(P, S) {P##_1##S, P##_2##S, P##_3##S, P##_4##S, P##_5##S, P##_6##S}
static const direct_fn direct[2][3][MR] = {
    {DIRECT_ROW(direct_f32, ), DIRECT_ROW(direct_f16, ), DIRECT_ROW(direct_bf16, )},
    {DIRECT_ROW(direct_f32, _bf16), DIRECT_ROW(direct_f16, _bf16), DIRECT_ROW(direct_bf16, _bf16)}};

int psr_float_rows_gemv(
    int type, int m, int k, const float *packed, int bf16, const void *w, float *y, long ldy, float beta, int j0,
    int j1) {
  if (!psr_panel_gemm_supported() || type < 0 || type > PSR_ROWS_BF16 || (bf16 && !psr_bf16_gemm_supported())) return 0;
  if (m <= 0 || j0 >= j1) return 1;
  const long rowBytes = (long)k * (type == PSR_ROWS_F32 ? 4 : 2);
  const int chunks = bf16 ? (k + 31) / 32 : (k + 15) / 16;
  for (int i = 0; i < m; i += MR) {
    const int r = m - i < MR ? m - i : MR;
    direct[bf16 != 0][type][r - 1](k, packed + (long)(i / MR) * chunks * MR * 16, w, rowBytes, y + (long)i * ldy, ldy, beta, j0, j1);
  }
  return 1;
}

int psr_float_rows_gemm_nt(
    int type, int m, int k, const float *packed, int bf16, const void *w, float *y, long ldy, float beta, int j0,
    int j1) {
  if (!psr_panel_gemm_supported() || type < 0 || type > PSR_ROWS_BF16) return 0;
  static void (*const expand[3])(const void *, int, int, int, int, float *, long) = {expand_f32, expand_f16, expand_bf16};
  const float_rows rows = {w, k};
  const psr_weight_panels panels = {expand[type], &rows, 16, NULL};
  return psr_panel_gemm_nt(&panels, m, k, packed, bf16, y, ldy, 1, beta, j0, j1);
}

#endif  // __x86_64__
