// x86-64 only: elsewhere portable.c defines these entry points.
#if defined(__x86_64__)
#include "psr_kernels.h"

#include "scratch.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

// C = alpha·op(A)·op(B) + beta·C with 512-bit vectors, as outer products: a 12 × 32 tile of C
// gathers, per step p of k, twelve broadcasts of A's column p times two vectors of B's row p
// (24 FMAs for 2 loads and 12 broadcasts). Operands are packed first — B's rows of a KC-deep
// step into 32-wide micro-panels that stay in L1, A's rows into 12-tall slivers in L2 — so that
// transposed and strided operands cost the same as dense ones.

#define TZ "avx2,fma,avx512f,avx512vl,avx512bw"
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

int psr_outer_gemm(
    int trans_a, int trans_b, int k, float alpha, const float *a, long lda, const float *b, long ldb, float beta,
    float *c, long ldc, int i0, int i1, int j0, int j1) {
  if (!psr_panel_gemm_supported()) return 0;
  if (i0 >= i1 || j0 >= j1) return 1;
  const operands o = {trans_a, trans_b, a, b, lda, ldb};
  float *packed_b = psr_scratch(PSR_SCRATCH_OUTER_B, sizeof(float) * KC * NC);
  float *packed_a = psr_scratch(PSR_SCRATCH_OUTER_A, sizeof(float) * KC * MC);
  if (!packed_a || !packed_b) return 0;
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
      pack_b(&o, p0, depth, jc, cols, packed_b);
      for (int ic = i0; ic < i1; ic += MC) {
        const int rows = i1 - ic < MC ? i1 - ic : MC;
        pack_a(&o, ic, rows, p0, depth, packed_a);
        for (int jr = 0; jr < cols; jr += NR)
          for (int ir = 0; ir < rows; ir += MR)
            tile(
                depth, packed_a + (long)(ir / MR) * depth * MR, packed_b + (long)(jr / NR) * depth * NR,
                c + (long)(ic + ir) * ldc + jc + jr, ldc, rows - ir < MR ? rows - ir : MR, cols - jr < NR ? cols - jr : NR,
                alpha, p0 == 0 ? beta : 1);
      }
    }
  }
  return 1;
}

#endif  // __x86_64__
