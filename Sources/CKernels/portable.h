// The kernels in portable C (internal to CKernels): what every CPU runs where the x86 kernels cannot,
// on aarch64 always (the compiler vectorises their eight-lane sums with NEON) and on x86 without AVX2.
// Each output is summed in one order whatever the number of rows, as the x86 kernels' are, so a
// sequence decodes the same alone or in a batch; the order differs from the x86 kernels', so the two
// agree within rounding (scripts/check-kernels-aarch64.sh states the tolerances), not in bits.
#ifndef PSR_PORTABLE_H
#define PSR_PORTABLE_H

#include <stdint.h>

/// An IEEE half (binary16, little-endian bits) as a float: exact, subnormals and infinities included.
float psr_portable_half(uint16_t bits);

/// psr_small_gemm_nt in portable C.
void psr_portable_small_gemm_nt(int m, int n, int k, const float *x, const float *w, float *y, float beta, int j0, int j1);

/// psr_attend_one in portable C.
void psr_portable_attend_one(
    int heads, int hd, const float *q, const float *keys, const float *values, int stride, int total, float scale,
    float softcap, float *probabilities, float *out);

/// psr_quantized_gemm_nt in portable C (no panels: `packed` is not read).
void psr_portable_quantized_gemm_nt(
    int format, int m, int k, const float *x, const unsigned char *quants, const float *scales, float *y, long ldy,
    float beta, int j0, int j1);

/// psr_superblock_gemm_nt in portable C (no panels).
void psr_portable_superblock_gemm_nt(
    int format, int m, int k, const float *x, const unsigned char *blocks, float *y, long ldy, float beta, int j0,
    int j1);

/// The 256 weights of one K-quant super-block of `format`, in GGML's element order.
void psr_portable_expand_superblock(int format, const unsigned char *block, float *out);

/// The 32 weights of block `b` of a 32-weight block row (quants and scales of that row).
void psr_portable_expand_block32(int format, const unsigned char *quants, const float *scales, int b, float *out);

#endif
