// x86-64 only: elsewhere portable.c defines these entry points.
#if defined(__x86_64__)
#include "psr_kernels.h"

#include "scratch.h"

#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// C = alpha·op(A)·op(B) + beta·C with 512-bit vectors, as outer products: a 12 × 32 tile of C
// gathers, per step p of k, twelve broadcasts of A's column p times two vectors of B's row p
// (24 FMAs for 2 loads and 12 broadcasts). Operands are packed first — B's rows of a KC-deep
// step into 32-wide micro-panels that stay in L1, A's rows into 12-tall slivers in L2 — so that
// transposed and strided operands cost the same as dense ones.

#define TZ "avx2,fma,avx512f,avx512vl,avx512bw"
#define TZ16 TZ ",avx512bf16"
#define MR 12
#define NR 32
#define KC 256
#define MC 120
#define NC 512


typedef struct {
  int trans_a, trans_b;
  const float *a, *b;
  long lda, ldb;
} operands;

// Rows [i0, i0 + rows) and steps [p0, p0 + depth) of op(A) as slivers of MR rows: sliver s,
// step p, row r at out[(s·depth + p)·MR + r], zero past the last row.
static void pack_a(const operands *o, long i0, int rows, long p0, int depth, float *out) {
  for (int s = 0; s * MR < rows; s++) {
    float *sliver = out + (long)s * depth * MR;
    const int live = rows - s * MR < MR ? rows - s * MR : MR;
    if (!o->trans_a && live == MR) {
      // Four rows × four steps at a time, transposed in registers.
      int p = 0;
      for (; p + 4 <= depth; p += 4)
        _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r += 4) {
          const float *src = o->a + (i0 + s * MR + r) * o->lda + p0 + p;
          __m128 q0 = _mm_loadu_ps(src), q1 = _mm_loadu_ps(src + o->lda), q2 = _mm_loadu_ps(src + 2 * o->lda),
                 q3 = _mm_loadu_ps(src + 3 * o->lda);
          _MM_TRANSPOSE4_PS(q0, q1, q2, q3);
          _mm_storeu_ps(sliver + p * MR + r, q0);
          _mm_storeu_ps(sliver + (p + 1) * MR + r, q1);
          _mm_storeu_ps(sliver + (p + 2) * MR + r, q2);
          _mm_storeu_ps(sliver + (p + 3) * MR + r, q3);
        }
      for (; p < depth; p++)
        _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) sliver[p * MR + r] = o->a[(i0 + s * MR + r) * o->lda + p0 + p];
      continue;
    }
    if (!o->trans_a) {
      _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {
        if (r >= live) {
          for (int p = 0; p < depth; p++) sliver[p * MR + r] = 0;
          continue;
        }
        const float *src = o->a + (i0 + s * MR + r) * o->lda + p0;
        for (int p = 0; p < depth; p++) sliver[p * MR + r] = src[p];
      }
      continue;
    }
    for (int p = 0; p < depth; p++) {
      float *dst = sliver + p * MR;
      memcpy(dst, o->a + (p0 + p) * o->lda + i0 + s * MR, sizeof(float) * live);
      for (int r = live; r < MR; r++) dst[r] = 0;
    }
  }
}

// Steps [p0, p0 + depth) and columns [j0, j0 + cols) of op(B) as micro-panels of NR columns:
// panel s, step p, column c at out[(s·depth + p)·NR + c], zero past the last column.
static void pack_b(const operands *o, long p0, int depth, long j0, int cols, float *out) {
  for (int s = 0; s * NR < cols; s++) {
    float *panel = out + (long)s * depth * NR;
    const int live = cols - s * NR < NR ? cols - s * NR : NR;
    for (int p = 0; p < depth; p++) {
      float *dst = panel + p * NR;
      if (o->trans_b) {
        for (int c = 0; c < live; c++) dst[c] = o->b[(j0 + s * NR + c) * o->ldb + p0 + p];
      } else {
        memcpy(dst, o->b + (p0 + p) * o->ldb + j0 + s * NR, sizeof(float) * live);
      }
      for (int c = live; c < NR; c++) dst[c] = 0;
    }
  }
}

// C[r][c] = beta·C[r][c] + alpha·acc for r < rows, c < cols (C not read where beta is 0).
__attribute__((target(TZ), always_inline)) static inline void store_tile(
    __m512 acc[MR][2], float *c, long ldc, int rows, int cols, float alpha, float beta) {
  const __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int r = 0; r < rows; r++) {
    float *cr = c + r * ldc;
    __m512 y0 = _mm512_mul_ps(va, acc[r][0]), y1 = _mm512_mul_ps(va, acc[r][1]);
    if (beta != 0) {
      y0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), y0);
      y1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), y1);
    }
    _mm512_mask_storeu_ps(cr, m0, y0);
    _mm512_mask_storeu_ps(cr + 16, m1, y1);
  }
}

// One tile: C[r][c] = beta·C[r][c] + alpha·sum_p A[p][r]·B[p][c] for r < rows, c < cols (C
// not read where beta is 0).
__attribute__((target(TZ))) static void tile(
    int depth, const float *a, const float *b, float *c, long ldc, int rows, int cols, float alpha, float beta) {
  __m512 acc[MR][2];
  _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int p = 0; p < depth; p++) {
    const __m512 b0 = _mm512_load_ps(b + p * NR), b1 = _mm512_load_ps(b + p * NR + 16);
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {
      const __m512 av = _mm512_set1_ps(a[p * MR + r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  store_tile(acc, c, ldc, rows, cols, alpha, beta);
}

// bf16 operands: steps in pairs (2q, 2q + 1), each pair of an element in one 32-bit word, the
// first step in the low half, as vdpbf16ps pairs them. Rounded to nearest even.
__attribute__((target(TZ16), always_inline)) static inline __m512i bf16_pairs(__m512 first, __m512 second) {
  const __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(first));
  const __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(second));
  return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

// pack_a's slivers (rows in MR-wide steps) as bf16 pairs: sliver s, pair q, row r at the 32-bit
// word out[(s·pairs + q)·MR + r], the missing step of an odd depth zero.
__attribute__((target(TZ16))) static void slivers_to_bf16(const float *in, int rows, int depth, uint32_t *out) {
  const int pairs = (depth + 1) / 2;
  const __mmask16 mask = (1u << MR) - 1;
  for (int s = 0; s * MR < rows; s++) {
    const float *sliver = in + (long)s * depth * MR;
    uint32_t *o = out + (long)s * pairs * MR;
    for (int q = 0; q < pairs; q++) {
      const __m512 first = _mm512_maskz_loadu_ps(mask, sliver + 2 * q * MR);
      const __m512 second = 2 * q + 1 < depth ? _mm512_maskz_loadu_ps(mask, sliver + (2 * q + 1) * MR) : _mm512_setzero_ps();
      _mm512_mask_storeu_epi32(o + q * MR, mask, bf16_pairs(first, second));
    }
  }
}

// pack_b's micro-panels as bf16 pairs: panel s, pair q, column c at the 32-bit word
// out[(s·pairs + q)·NR + c].
__attribute__((target(TZ16))) static void panels_to_bf16(const float *in, int cols, int depth, uint32_t *out) {
  const int pairs = (depth + 1) / 2;
  for (int s = 0; s * NR < cols; s++) {
    const float *panel = in + (long)s * depth * NR;
    uint32_t *o = out + (long)s * pairs * NR;
    for (int q = 0; q < pairs; q++)
      for (int h = 0; h < NR; h += 16) {
        const __m512 first = _mm512_load_ps(panel + 2 * q * NR + h);
        const __m512 second = 2 * q + 1 < depth ? _mm512_load_ps(panel + (2 * q + 1) * NR + h) : _mm512_setzero_ps();
        _mm512_store_si512(o + q * NR + h, bf16_pairs(first, second));
      }
  }
}

// tile's bf16 form over `pairs` step pairs: 24 vdpbf16ps (48 steps of multiply-adds) per two
// loads and twelve broadcasts.
__attribute__((target(TZ16))) static void tile_bf16(
    int pairs, const uint32_t *a, const uint32_t *b, float *c, long ldc, int rows, int cols, float alpha, float beta) {
  __m512 acc[MR][2];
  _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int q = 0; q < pairs; q++) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b + q * NR), b1 = (__m512bh)_mm512_load_si512(b + q * NR + 16);
    _Pragma("clang loop unroll(full)") for (int r = 0; r < MR; r++) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[q * MR + r]);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
    }
  }
  store_tile(acc, c, ldc, rows, cols, alpha, beta);
}

int psr_outer_gemm(
    int trans_a, int trans_b, int k, float alpha, const float *a, long lda, const float *b, long ldb, float beta,
    float *c, long ldc, int i0, int i1, int j0, int j1, int bf16) {
  if (!psr_panel_gemm_supported() || (bf16 && !psr_bf16_gemm_supported())) return 0;
  if (i0 >= i1 || j0 >= j1) return 1;
  const operands o = {trans_a, trans_b, a, b, lda, ldb};
  // bf16: each operand is packed in fp32 as always, then rounded into pairs behind it.
  float *packed_b = psr_scratch(PSR_SCRATCH_OUTER_B, sizeof(float) * KC * NC * (bf16 ? 3 : 2) / 2);
  float *packed_a = psr_scratch(PSR_SCRATCH_OUTER_A, sizeof(float) * KC * MC * (bf16 ? 3 : 2) / 2);
  if (!packed_a || !packed_b) return 0;
  uint32_t *pairs_b = (uint32_t *)(packed_b + KC * NC), *pairs_a = (uint32_t *)(packed_a + KC * MC);
  for (int jc = j0; jc < j1; jc += NC) {
    const int cols = j1 - jc < NC ? j1 - jc : NC;
    if (k <= 0) {
      // No steps: C = beta·C.
      for (int i = i0; i < i1; i++)
        for (int j = jc; j < jc + cols; j++) c[(long)i * ldc + j] = beta == 0 ? 0 : beta * c[(long)i * ldc + j];
      continue;
    }
    for (int p0 = 0; p0 < k; p0 += KC) {
      const int depth = k - p0 < KC ? k - p0 : KC;
      const int pairs = (depth + 1) / 2;
      pack_b(&o, p0, depth, jc, cols, packed_b);
      if (bf16) panels_to_bf16(packed_b, cols, depth, pairs_b);
      for (int ic = i0; ic < i1; ic += MC) {
        const int rows = i1 - ic < MC ? i1 - ic : MC;
        pack_a(&o, ic, rows, p0, depth, packed_a);
        if (bf16) slivers_to_bf16(packed_a, rows, depth, pairs_a);
        for (int jr = 0; jr < cols; jr += NR)
          for (int ir = 0; ir < rows; ir += MR) {
            float *cc = c + (long)(ic + ir) * ldc + jc + jr;
            const int tr = rows - ir < MR ? rows - ir : MR, tc = cols - jr < NR ? cols - jr : NR;
            if (bf16)
              tile_bf16(
                  pairs, pairs_a + (long)(ir / MR) * pairs * MR, pairs_b + (long)(jr / NR) * pairs * NR, cc, ldc, tr, tc,
                  alpha, p0 == 0 ? beta : 1);
            else
              tile(
                  depth, packed_a + (long)(ir / MR) * depth * MR, packed_b + (long)(jr / NR) * depth * NR, cc, ldc, tr,
                  tc, alpha, p0 == 0 ? beta : 1);
          }
      }
    }
  }
  return 1;
}

#endif  // __x86_64__
