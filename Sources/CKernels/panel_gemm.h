// The panel product shared by the quantized kernels (internal to CKernels).
#ifndef PSR_PANEL_GEMM_H
#define PSR_PANEL_GEMM_H

#include "psr_kernels.h"

/// Where a panel product reads W (rows of k weights): `expand` writes them as fp32,
/// out[r·ldo + t] = W[j + r][t0 + t] for r < rows, t < len, with t0 a multiple of `block` and len
/// one too unless it reaches k.
///
/// `expand_bf16`, where a format has it (else NULL), writes the same values rounded to bf16 (to
/// nearest even, as psr_pack_rows_bf16 rounds) straight into a bf16 panel: row r's len values at
/// out + r·ldo, ldo counted in floats (two bf16 each), len a whole number of 32-value chunks. The
/// bits are those of `expand` followed by rounding, without the fp32 panel in between.
typedef struct {
  void (*expand)(const void *context, int j, int rows, int t0, int len, float *out, long ldo);
  const void *context;
  int block;
  void (*expand_bf16)(const void *context, int j, int rows, int t0, int len, float *out, long ldo);
} psr_weight_panels;

/// y[i·ldy + j] = beta·y[i·ldy + j] + alpha·sum_t x[i][t]·W[j][t] for i < m, j in [j0, j1), with x
/// as psr_pack_rows packs it, each sum in the 512-bit decode kernels' order (alpha 1 leaves it
/// exact). With `bf16`, x as psr_pack_rows_bf16 packs it and each panel of W rounded to bf16: the
/// sums of exact products of the rounded values, in fp32. Requires psr_panel_gemm_supported()
/// (and psr_bf16_gemm_supported() for bf16). Returns 0, having written nothing, when its scratch
/// cannot be allocated or the CPU lacks bf16 products.
int psr_panel_gemm_nt(
    const psr_weight_panels *weights, int m, int k, const float *packed, int bf16, float *y, long ldy, float alpha,
    float beta, int j0, int j1);

#endif
