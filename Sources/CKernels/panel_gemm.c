#include "panel_gemm.h"
#include "simd_sums.h"

#include <immintrin.h>
#include <stdlib.h>
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
#define MR 6
#define NR 4
#ifndef NC
#define NC 32
#endif
#ifndef MC
#define MC 120
#endif
#ifndef KC
#define KC 256
#endif

// Tile of R rows × C weight rows over `chunks` chunks of 16 (plus `tail` < 16 more, zero-padded):
// accumulators start at zero on the first KC step, else from the scratch, and return to it.
#define DEFINE_TILE(R, C)                                                                                       \
  __attribute__((target(TZ))) static void tile_##R##x##C(                                                    \
      int chunks, int tail, const float *x, const float *w, long ldw, __m512 *acc_out, int first) {            \
    __m512 acc[R][C];                                                                                         \
    for (int r = 0; r < R; r++)                                                                               \
      for (int c = 0; c < C; c++) acc[r][c] = first ? _mm512_setzero_ps() : acc_out[r * NC + c];            \
    for (int t = 0; t < chunks; t++) {                                                                        \
      __m512 wv[C];                                                                                           \
      for (int c = 0; c < C; c++) wv[c] = _mm512_loadu_ps(w + c * ldw + 16 * t);                             \
      for (int r = 0; r < R; r++) {                                                                           \
        const __m512 xv = _mm512_load_ps(x + (t * MR + r) * 16);                                               \
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);                        \
      }                                                                                                       \
    }                                                                                                         \
    if (tail) {                                                                                               \
      const __mmask16 mask = (__mmask16)((1u << tail) - 1);                                                   \
      __m512 wv[C];                                                                                           \
      for (int c = 0; c < C; c++) wv[c] = _mm512_maskz_loadu_ps(mask, w + c * ldw + 16 * chunks);           \
      for (int r = 0; r < R; r++) {                                                                           \
        const __m512 xv = _mm512_load_ps(x + (chunks * MR + r) * 16);                                          \
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);                        \
      }                                                                                                       \
    }                                                                                                         \
    for (int r = 0; r < R; r++)                                                                               \
      for (int c = 0; c < C; c++) acc_out[r * NC + c] = acc[r][c];                                            \
  }

#define DEFINE_TILE_ROW(R) DEFINE_TILE(R, 1) DEFINE_TILE(R, 2) DEFINE_TILE(R, 3) DEFINE_TILE(R, 4)
DEFINE_TILE_ROW(1)
DEFINE_TILE_ROW(2)
DEFINE_TILE_ROW(3)
DEFINE_TILE_ROW(4)
DEFINE_TILE_ROW(5)
DEFINE_TILE_ROW(6)

typedef void (*tile_fn)(int, int, const float *, const float *, long, __m512 *, int);
#define TILE_ROW(R) {tile_##R##x1, tile_##R##x2, tile_##R##x3, tile_##R##x4}
static const tile_fn tiles[MR][NR] = {TILE_ROW(1), TILE_ROW(2), TILE_ROW(3), TILE_ROW(4), TILE_ROW(5), TILE_ROW(6)};

int psr_panel_gemm_supported(void) {
  static int supported = -1;
  if (supported < 0) {
    __builtin_cpu_init();
    supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("f16c");
  }
  return supported;
}

typedef struct {
  const float *w;
  long ldw;
} psr_dense_rows;

// Per-thread scratch that grows to the largest product seen: a product runs in tens of
// microseconds per layer when decoding small batches, too short to map fresh memory each time.
static void *scratch(int slot, size_t bytes) {
  static _Thread_local void *buffers[3];
  static _Thread_local size_t sizes[3];
  if (sizes[slot] < bytes) {
    free(buffers[slot]);
    bytes = (bytes + 4095) & ~(size_t)4095;
    buffers[slot] = aligned_alloc(64, bytes);
    sizes[slot] = buffers[slot] ? bytes : 0;
  }
  return buffers[slot];
}

// The decode kernels' reduction of one accumulator: the upper 256 bits onto the lower.
__attribute__((target(TZ))) static inline __m256 fold(__m512 v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// y[c] = beta·y[c] + alpha·(sum of acc[c]) for c < cols, eight outputs at a time through
// psr_hsum8x8, which sums each lane set in psr_hsum8's order (y not read where beta is 0).
__attribute__((target(TZ))) static void store_row(const __m512 *acc, int cols, float *y, float alpha, float beta) {
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  int c = 0;
  for (; c + 8 <= cols; c += 8) {
    __m256 h[8];
    for (int u = 0; u < 8; u++) h[u] = fold(acc[c + u]);
    __m256 sums = _mm256_mul_ps(va, psr_hsum8x8(h));
    if (beta != 0) sums = _mm256_add_ps(_mm256_mul_ps(vb, _mm256_loadu_ps(y + c)), sums);
    _mm256_storeu_ps(y + c, sums);
  }
  for (; c < cols; c++) {
    const float sum = alpha * psr_hsum8(fold(acc[c]));
    y[c] = beta == 0 ? sum : beta * y[c] + sum;
  }
}

// Rows [i0, i0 + rows) of x as slivers of MR rows: sliver s, chunk t of 16 columns, row r at
// out[((s·chunks + t)·MR + r)·16], zero past k and past the last row, so that a tile reads one
// contiguous stream however far apart the rows lie.
__attribute__((target(TZ))) static void pack_rows(
    const float *x, long ldx, int i0, int rows, int k, int chunks, float *out) {
  for (int s = 0; s * MR < rows; s++)
    for (int r = 0; r < MR; r++) {
      float *o = out + ((long)s * chunks * MR + r) * 16;
      if (s * MR + r >= rows) {
        for (int t = 0; t < chunks; t++) _mm512_store_ps(o + (long)t * MR * 16, _mm512_setzero_ps());
        continue;
      }
      const float *xr = x + (long)(i0 + s * MR + r) * ldx;
      for (int t = 0; t < chunks; t++) {
        const int left = k - 16 * t;
        const __mmask16 mask = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
        _mm512_store_ps(o + (long)t * MR * 16, _mm512_maskz_loadu_ps(mask, xr + 16 * t));
      }
    }
}

__attribute__((target(TZ))) int psr_panel_gemm_nt(
    const psr_weight_panels *weights, int m, int k, const float *x, long ldx, float *y, long ldy, float alpha,
    float beta, int j0, int j1) {
  if (m <= 0 || j0 >= j1) return 1;
  const int step = KC / weights->block * weights->block;
  const int chunks = (k + 15) / 16;
  __m512 *acc = scratch(0, sizeof(__m512) * MC * NC);
  float *packed = scratch(1, sizeof(float) * 16 * (long)chunks * MC);
  float *panel = scratch(2, sizeof(float) * NC * step);
  if (!acc || !packed || !panel) return 0;
  for (int ic = 0; ic < m; ic += MC) {
    const int rows = m - ic < MC ? m - ic : MC;
    pack_rows(x, ldx, ic, rows, k, chunks, packed);
    for (int jc = j0; jc < j1; jc += NC) {
      const int cols = j1 - jc < NC ? j1 - jc : NC;
      for (int t0 = 0; t0 < k; t0 += step) {
        const int len = k - t0 < step ? k - t0 : step;
        weights->expand(weights->context, jc, cols, t0, len, panel, step);
        for (int ir = 0; ir < rows; ir += MR) {
          const int r = rows - ir < MR ? rows - ir : MR;
          const float *xs = packed + ((long)(ir / MR) * chunks + t0 / 16) * MR * 16;
          for (int jr = 0; jr < cols; jr += NR) {
            const int c = cols - jr < NR ? cols - jr : NR;
            tiles[r - 1][c - 1](len / 16, len % 16, xs, panel + (long)jr * step, step, acc + ir * NC + jr, t0 == 0);
          }
        }
      }
      for (int i = 0; i < rows; i++) store_row(acc + i * NC, cols, y + (long)(ic + i) * ldy + jc, alpha, beta);
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
    int m, int k, const float *x, long ldx, const float *w, long ldw, float *y, long ldy, float alpha, float beta, int j0,
    int j1) {
  if (!psr_panel_gemm_supported()) return 0;
  const psr_dense_rows rows = {w, ldw};
  const psr_weight_panels panels = {copy_rows, &rows, 1};
  return psr_panel_gemm_nt(&panels, m, k, x, ldx, y, ldy, alpha, beta, j0, j1);
}
