#include "portable.h"

#include "psr_kernels.h"
#include "scratch.h"

#include <math.h>
#include <string.h>

float psr_portable_half(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, bits;
  if (exponent == 0 && mantissa == 0) {
    bits = sign;
  } else if (exponent == 0) {
    // Subnormal: mantissa·2⁻²⁴, normalised by shifting until the implicit bit (bit 10) is set.
    int shifts = 0;
    while (!(mantissa & 0x400u)) mantissa <<= 1, shifts++;
    bits = sign | (uint32_t)(113 - shifts) << 23 | (mantissa & 0x3ffu) << 13;
  } else if (exponent == 31) {
    bits = sign | 0x7f800000u | mantissa << 13;
  } else {
    bits = sign | (exponent + 112) << 23 | mantissa << 13;
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

// Σ a[i]·b[i] in eight lanes (lane u takes i ≡ u mod 8), the lanes added pairwise, then the tail:
// independent chains that a compiler maps to vector registers without reordering any sum.
static float dot(const float *a, const float *b, int n) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int u = 0; u < 8; u++) lane[u] += a[i + u] * b[i + u];
  float s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

void psr_portable_small_gemm_nt(int m, int n, int k, const float *x, const float *w, float *y, float beta, int j0, int j1) {
  for (int j = j0; j < j1; j++)
    for (int i = 0; i < m; i++) {
      float *yr = y + (long)i * n + j;
      *yr = (beta == 0 ? 0 : beta * *yr) + dot(x + (long)i * k, w + (long)j * k, k);
    }
}

void psr_portable_attend_one(
    int heads, int hd, const float *q, const float *keys, const float *values, int stride, int total, float scale,
    float softcap, float *probabilities, float *out) {
  for (int h = 0; h < heads; h++) {
    float *p = probabilities + (long)h * total;
    for (int j = 0; j < total; j++) {
      p[j] = scale * dot(q + (long)h * hd, keys + (long)j * stride, hd);
      if (softcap > 0) p[j] = softcap * tanhf(p[j] / softcap);
    }
    float top = p[0];
    for (int j = 1; j < total; j++) top = p[j] > top ? p[j] : top;
    const float inv = 1 / psr_exp_shifted(p, total, top);
    for (int j = 0; j < total; j++) p[j] *= inv;
    float *o = out + (long)h * hd;
    for (int d = 0; d < hd; d++) o[d] = 0;
    for (int j = 0; j < total; j++) {
      const float *vj = values + (long)j * stride;
      for (int d = 0; d < hd; d++) o[d] += p[j] * vj[d];
    }
  }
}

void psr_portable_expand_block32(int format, const unsigned char *quants, const float *scales, int b, float *out) {
  if (format == PSR_Q4_1) {
    const unsigned char *q = quants + (long)b * 16;
    const float d = scales[2 * b], m = scales[2 * b + 1];
    for (int t = 0; t < 16; t++) {
      out[t] = d * (float)(q[t] & 15) + m;
      out[t + 16] = d * (float)(q[t] >> 4) + m;
    }
  } else if (format == PSR_Q8_0) {
    const signed char *q = (const signed char *)quants + (long)b * 32;
    const float d = scales[b];
    for (int t = 0; t < 32; t++) out[t] = d * (float)q[t];
  } else {
    const unsigned char *q = quants + (long)b * 32;
    const float d = scales[2 * b], m = scales[2 * b + 1];
    for (int t = 0; t < 32; t++) out[t] = d * (float)q[t] + m;
  }
}

static float half_at(const unsigned char *p) { return psr_portable_half((uint16_t)(p[0] | p[1] << 8)); }

void psr_portable_expand_superblock(int format, const unsigned char *block, float *out) {
  if (format == PSR_Q6_K) {
    // Weight 128·h + 32·g + l: (nibble g/2 of ql[64·h + 32·(g&1) + l]) | (bits 2g, 2g+1 of
    // qh[32·h + l]) << 4, minus 32, times d·scale[8·h + 2·g + l/16].
    const float d = half_at(block + 208);
    const signed char *sc = (const signed char *)block + 192;
    for (int h = 0; h < 2; h++)
      for (int g = 0; g < 4; g++) {
        const unsigned char *ql = block + 64 * h + 32 * (g & 1), *qh = block + 128 + 32 * h;
        for (int l = 0; l < 32; l++) {
          const int q = (((ql[l] >> (4 * (g >> 1))) & 15) | ((qh[l] >> (2 * g)) & 3) << 4) - 32;
          out[128 * h + 32 * g + l] = d * (float)sc[8 * h + 2 * g + l / 16] * (float)q;
        }
      }
    return;
  }
  // Q4_K and Q5_K: sub-block j takes nibble j&1 of qs[32·(j/2) + l] (Q5_K adds bit j of qh[l] as the
  // fifth bit), times d·scale[j], minus dmin·minimum[j], with the 6-bit scales and minimums packed
  // in the 12 bytes after d and dmin.
  const int five = format == PSR_Q5_K;
  const float d = half_at(block), dmin = half_at(block + 2);
  const unsigned char *sc = block + 4, *qh = block + 16, *qs = block + (five ? 48 : 16);
  for (int j = 0; j < 8; j++) {
    const int s = j < 4 ? sc[j] & 63 : (sc[j + 4] & 15) | (sc[j - 4] >> 6) << 4;
    const int mn = j < 4 ? sc[j + 4] & 63 : (sc[j + 4] >> 4) | (sc[j] >> 6) << 4;
    const float scale = d * (float)s, minimum = -dmin * (float)mn;
    for (int l = 0; l < 32; l++) {
      int q = (qs[32 * (j >> 1) + l] >> (4 * (j & 1))) & 15;
      if (five) q |= ((qh[l] >> j) & 1) << 4;
      out[32 * j + l] = scale * (float)q + minimum;
    }
  }
}

// W's block b of row j (`block` weights), expanded by a format's function.
typedef void (*expand_block)(const void *context, int j, int b, float *out);

// y[i·ldy + j] = beta·y[i·ldy + j] + Σ_t x[i·k + t]·W[j][t] for i < m, j in [j0, j1). Row j of W is
// expanded into a scratch row once, then one dot product per row of x. Where scratch is refused,
// each block is expanded again for every row of x, summed in the same eight lanes: slower, the
// same sums.
static void rows_product(
    int m, int k, int block, const float *x, expand_block expand, const void *context, float *y, long ldy, float beta,
    int j0, int j1) {
  const int blocks = k / block;
  float *row = psr_scratch(PSR_SCRATCH_PORTABLE_ROW, sizeof(float) * (size_t)k);
  for (int j = j0; j < j1; j++) {
    if (row)
      for (int b = 0; b < blocks; b++) expand(context, j, b, row + (long)block * b);
    for (int i = 0; i < m; i++) {
      const float *xi = x + (long)i * k;
      float sum;
      if (row) {
        sum = dot(xi, row, k);
      } else {
        float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0}, w[256];
        for (int b = 0; b < blocks; b++) {
          expand(context, j, b, w);
          for (int t = 0; t < block; t++) lane[t & 7] += xi[(long)block * b + t] * w[t];
        }
        sum = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
      }
      float *yr = y + (long)i * ldy + j;
      *yr = (beta == 0 ? 0 : beta * *yr) + sum;
    }
  }
}

typedef struct {
  int format;
  const unsigned char *quants;
  const float *scales;
  long qrow, srow;
} block32_rows;

static void expand_block32_row(const void *context, int j, int b, float *out) {
  const block32_rows *w = context;
  psr_portable_expand_block32(w->format, w->quants + (long)j * w->qrow, w->scales + (long)j * w->srow, b, out);
}

void psr_portable_quantized_gemm_nt(
    int format, int m, int k, const float *x, const unsigned char *quants, const float *scales, float *y, long ldy,
    float beta, int j0, int j1) {
  const long blocks = k / 32;
  const block32_rows w = {
      format, quants, scales, blocks * (format == PSR_Q4_1 ? 16 : 32), blocks * (format == PSR_Q8_0 ? 1 : 2)};
  rows_product(m, k, 32, x, expand_block32_row, &w, y, ldy, beta, j0, j1);
}

typedef struct {
  int format;
  const unsigned char *blocks;
  long bytes, rowBytes;
} superblock_rows;

static void expand_superblock_row(const void *context, int j, int b, float *out) {
  const superblock_rows *w = context;
  psr_portable_expand_superblock(w->format, w->blocks + (long)j * w->rowBytes + (long)b * w->bytes, out);
}

void psr_portable_superblock_gemm_nt(
    int format, int m, int k, const float *x, const unsigned char *blocks, float *y, long ldy, float beta, int j0,
    int j1) {
  const long bytes = psr_superblock_bytes(format);
  const superblock_rows w = {format, blocks, bytes, (long)(k / 256) * bytes};
  rows_product(m, k, 256, x, expand_superblock_row, &w, y, ldy, beta, j0, j1);
}

#if !defined(__x86_64__)
// Elsewhere than x86-64 the public entry points are the portable kernels. The 512-bit products
// (panels, outer products, packed rows) report themselves unsupported: callers then run OpenBLAS,
// whose NEON kernels a portable loop would not beat.
int psr_has_avx2_fma(void) { return 0; }
int psr_panel_gemm_supported(void) { return 0; }
long psr_packed_rows_floats(int m, int k) { return (long)((m + 5) / 6) * 6 * ((k + 15) / 16) * 16; }
void psr_pack_rows(const float *x, long ldx, int m, int k, int s0, int s1, float *out) {
  (void)x, (void)ldx, (void)m, (void)k, (void)s0, (void)s1, (void)out;
}
int psr_bf16_gemm_supported(void) { return 0; }
long psr_packed_rows_bf16_floats(int m, int k) { return (long)((m + 5) / 6) * 6 * ((k + 31) / 32) * 16; }
void psr_pack_rows_bf16(const float *x, long ldx, int m, int k, int s0, int s1, float *out) {
  (void)x, (void)ldx, (void)m, (void)k, (void)s0, (void)s1, (void)out;
}
int psr_dense_gemm_nt(
    int m, int k, const float *packed, int packed_bf16, const float *w, long ldw, float *y, long ldy, float alpha,
    float beta, int j0, int j1) {
  (void)m, (void)k, (void)packed, (void)packed_bf16, (void)w, (void)ldw, (void)y, (void)ldy, (void)alpha, (void)beta, (void)j0, (void)j1;
  return 0;
}
int psr_float_rows_gemm_nt(
    int type, int m, int k, const float *packed, int packed_bf16, const void *w, float *y, long ldy, float beta, int j0,
    int j1) {
  (void)type, (void)m, (void)k, (void)packed, (void)packed_bf16, (void)w, (void)y, (void)ldy, (void)beta, (void)j0, (void)j1;
  return 0;
}
int psr_float_rows_gemv(
    int type, int m, int k, const float *packed, int packed_bf16, const void *w, float *y, long ldy, float beta, int j0,
    int j1) {
  (void)type, (void)m, (void)k, (void)packed, (void)packed_bf16, (void)w, (void)y, (void)ldy, (void)beta, (void)j0, (void)j1;
  return 0;
}
int psr_outer_gemm(
    int trans_a, int trans_b, int k, float alpha, const float *a, long lda, const float *b, long ldb, float beta,
    float *c, long ldc, int i0, int i1, int j0, int j1, int bf16) {
  (void)trans_a, (void)trans_b, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb, (void)beta, (void)c;
  (void)ldc, (void)i0, (void)i1, (void)j0, (void)j1, (void)bf16;
  return 0;
}
void psr_small_gemm_nt(int m, int n, int k, const float *x, const float *w, float *y, float beta, int j0, int j1) {
  psr_portable_small_gemm_nt(m, n, k, x, w, y, beta, j0, j1);
}
void psr_attend_one(
    int heads, int hd, const float *q, const float *keys, const float *values, int stride, int total, float scale,
    float softcap, float *probabilities, float *out) {
  psr_portable_attend_one(heads, hd, q, keys, values, stride, total, scale, softcap, probabilities, out);
}
void psr_quantized_gemm_nt(
    int format, int m, int k, const float *x, const float *packed, int packed_bf16, const unsigned char *quants,
    const float *scales, float *y, long ldy, float beta, int j0, int j1) {
  (void)packed, (void)packed_bf16;
  psr_portable_quantized_gemm_nt(format, m, k, x, quants, scales, y, ldy, beta, j0, j1);
}
long psr_superblock_bytes(int format) { return format == PSR_Q4_K ? 144 : format == PSR_Q5_K ? 176 : 210; }
int psr_superblock_expand_rows(int format, int k, const unsigned char *blocks, int rows, float *out) {
  (void)format, (void)k, (void)blocks, (void)rows, (void)out;
  return 0;
}
void psr_superblock_gemm_nt(
    int format, int m, int k, const float *x, const float *packed, int packed_bf16, const unsigned char *blocks,
    float *y, long ldy, float beta, int j0, int j1) {
  (void)packed, (void)packed_bf16;
  psr_portable_superblock_gemm_nt(format, m, k, x, blocks, y, ldy, beta, j0, j1);
}
#endif
