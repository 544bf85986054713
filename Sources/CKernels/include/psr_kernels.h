#ifndef PSR_KERNELS_H
#define PSR_KERNELS_H

/// Whether this CPU has AVX2 and FMA, so that the kernels below run their x86 forms (0 on every
/// other architecture).
int psr_has_avx2_fma(void);

/// y[i][j] = beta * y[i][j] + sum_t x[i][t] * w[j][t] for i < m, j in [j0, j1), with x (m x k),
/// w (n x k) and y (m x n) dense row-major. Each weight row is read once for all m rows, which
/// is what small batches need (sgemm would first repack the whole weight matrix).
/// Any CPU: AVX2 and FMA where present, portable C otherwise.
void psr_small_gemm_nt(int m, int n, int k, const float *x, const float *w, float *y, float beta, int j0, int j1);

/// Whether this CPU runs the panel products (AVX-512 F, VL and BW, and F16C).
int psr_panel_gemm_supported(void);

/// Floats that psr_pack_rows writes for m rows of k: rows rounded up to 6, columns to 16.
long psr_packed_rows_floats(int m, int k);

/// Whether this CPU runs the bf16 products (psr_panel_gemm_supported() and AVX512_BF16): the
/// `bf16` forms of the panel and outer products below, and psr_pack_rows_bf16.
int psr_bf16_gemm_supported(void);

/// Bytes / 4 that psr_pack_rows_bf16 writes for m rows of k: rows rounded up to 6, columns to 32,
/// two bf16 a float's bytes.
long psr_packed_rows_bf16_floats(int m, int k);

/// psr_pack_rows with every value rounded to bf16 (to nearest even), 32 a 64-byte chunk, for the
/// bf16 products (`packed_bf16` 1). Requires psr_bf16_gemm_supported().
void psr_pack_rows_bf16(const float *x, long ldx, int m, int k, int s0, int s1, float *out);

/// Packs rows of x (m × k, row stride ldx) for the panel products, in slivers of 6 rows: slivers
/// [s0, s1) of ceil(m / 6), so that the cores can share the work. `out` holds
/// psr_packed_rows_floats(m, k) floats, 64-byte aligned. Requires psr_panel_gemm_supported().
void psr_pack_rows(const float *x, long ldx, int m, int k, int s0, int s1, float *out);

/// y[i·ldy + j] = beta·y[i·ldy + j] + alpha·sum_t x[i][t]·w[j·ldw + t] for i < m, j in [j0, j1),
/// with x packed by psr_pack_rows: the product with a weight matrix `[n × k]` on 512-bit panels
/// (each output summed in 16 lanes, then reduced). With `packed_bf16`, x packed by
/// psr_pack_rows_bf16 and w rounded to bf16 panel by panel: exact products of the rounded values,
/// summed in fp32 (PyTorch's CPU autocast semantics). Returns 0, having written nothing, where the
/// CPU lacks AVX-512 (F, VL, BW; and BF16 for bf16) or scratch memory cannot be had; the caller
/// then runs another product.
int psr_dense_gemm_nt(
    int m, int k, const float *packed, int packed_bf16, const float *w, long ldw, float *y, long ldy, float alpha,
    float beta, int j0, int j1);

/// Element types of psr_float_rows_gemm_nt.
enum { PSR_ROWS_F32 = 0, PSR_ROWS_F16 = 1, PSR_ROWS_BF16 = 2 };

/// psr_dense_gemm_nt (alpha 1) with W's rows `[n × k]` stored densely as fp32, fp16 or bf16, as a
/// GGUF file or a safetensors checkpoint holds them: each panel is converted (exactly) where it
/// is used, so no fp32 copy of W exists. Any m, from one row.
int psr_float_rows_gemm_nt(
    int type, int m, int k, const float *packed, int packed_bf16, const void *w, float *y, long ldy, float beta, int j0,
    int j1);

/// psr_float_rows_gemm_nt's outputs, the same bits, for few rows of x (any m, meant for fewer than
/// a few dozen): the weights are read where they lie, each chunk converted in registers, instead
/// of being written to a panel and read back.
int psr_float_rows_gemv(
    int type, int m, int k, const float *packed, int packed_bf16, const void *w, float *y, long ldy, float beta, int j0,
    int j1);

/// C[i][j] = beta·C[i][j] + alpha·sum_p op(A)[i][p]·op(B)[p][j] for i in [i0, i1), j in [j0, j1),
/// with C at c + i·ldc + j, op(A)[i][p] at a + (trans_a ? p·lda + i : i·lda + p) and op(B)[p][j] at
/// b + (trans_b ? j·ldb + p : p·ldb + j); C is not read where beta is 0. 512-bit outer products on
/// packed operands. With `bf16`, both operands rounded to bf16 (to nearest even) where they are
/// packed and multiplied in pairs of steps (vdpbf16ps), summed in fp32. Returns 0, having written
/// nothing, where the CPU lacks AVX-512 (F, VL, BW; and BF16 for bf16) or scratch memory cannot
/// be had.
int psr_outer_gemm(
    int trans_a, int trans_b, int k, float alpha, const float *a, long lda, const float *b, long ldb, float beta,
    float *c, long ldc, int i0, int i1, int j0, int j1, int bf16);

/// x[i] = exp(x[i] - shift) for i < count; returns the sum. AVX2 when available, libm otherwise.
/// exp = 2^n e^r with |r| <= ln2/2 and a degree-6 polynomial (relative error < 1e-6);
/// inputs below -87.3 give 0, above 88.3 are clamped.
float psr_exp_shifted(float *x, int count, float shift);

/// log(sum_i exp(x[i])) for i < count, shifted by the maximum so that nothing overflows; -inf
/// when count is 0 or every value is -inf. x is not modified. Same exp as psr_exp_shifted.
float psr_log_sum_exp(const float *x, int count);

/// y[i] = gelu(g[i])·u[i] for i < count, gelu(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))), with
/// tanh from a polynomial exp (absolute error of 1 + tanh below 3e-7; AVX2, libm elsewhere).
/// The fast path of `--compute int8`; fp32 keeps libm's tanhf.
void psr_gelu_glu(const float *g, const float *u, float *y, int count);

/// y[i] = g[i] / (1 + exp(-g[i])) * u[i] (SwiGLU) for i < count.
void psr_swiglu(const float *g, const float *u, float *y, int count);

/// Attention of one query position for `heads` query heads sharing one key/value head:
/// probabilities[h][j] = softmax_j(cap(scale · q_h · k_j)) and out[h] = sum_j probabilities[h][j] v_j, with
/// q (heads × hd) and out (heads × hd) dense, key/value row j at keys/values + j·stride, and
/// probabilities (heads × total) written; cap(s) = softcap·tanh(s/softcap) when softcap > 0, else s.
/// Any CPU: AVX2 and FMA where present, portable C otherwise.
void psr_attend_one(
    int heads, int hd, const float *q, const float *keys, const float *values, int stride, int total, float scale,
    float softcap, float *probabilities, float *out);

/// Runs fn(ctx, p) for p in [0, parts) on a persistent pool of (cores - 1) workers and the
/// calling thread; returns when all are done. Returns 0 without running anything when the pool
/// is busy (a nested or concurrent call) or parts exceeds 65535: the caller must then run the
/// parts itself.
int psr_pool_run(int parts, void (*fn)(void *, int), void *ctx);

/// Block formats of psr_quantized_gemm_nt (32 weights a block, llama.cpp's element order).
enum {
  /// 2 scales (d, m) and 16 bytes a block: element t is d·lo(q[t]) + m, element t+16 is d·hi(q[t]) + m.
  PSR_Q4_1 = 0,
  /// 1 scale (d) and 32 signed bytes a block: element t is d·q[t].
  PSR_Q8_0 = 1,
  /// 2 scales (d, m) and 32 unsigned bytes a block: element t is d·q[t] + m (repacked Q5_1).
  PSR_Q8_1 = 2,
};

/// y[i·ldy + j] = beta·y[i·ldy + j] + sum_t x[i·k + t]·w[j][t] for i < m, j in [j0, j1), where
/// row j of w is stored as k/32 blocks: quants at j·(k/32)·(16 or 32) bytes, scales at
/// j·(k/32)·(2 or 1). k must be a multiple of 32. Any CPU (AVX2 or AVX-512 where present, portable C
/// otherwise). Where `packed`
/// holds x as psr_pack_rows packs it (or is NULL), products of many rows run as panels, with
/// the same sums; with `packed_bf16`, as psr_pack_rows_bf16 packs it, as bf16 panels (an odd
/// last column, and every column on a CPU without bf16 products, then runs in fp32 from x).
void psr_quantized_gemm_nt(
    int format, int m, int k, const float *x, const float *packed, int packed_bf16, const unsigned char *quants,
    const float *scales, float *y, long ldy, float beta, int j0, int j1);

/// K-quant super-block formats of psr_superblock_gemm_nt (256 weights a block, GGML's layout).
enum {
  /// 144 bytes: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and minimums, 128 bytes of nibbles.
  PSR_Q4_K = 12,
  /// 176 bytes: Q4_K's fields plus 32 bytes of fifth bits.
  PSR_Q5_K = 13,
  /// 210 bytes: 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 int8 scales, fp16 d.
  PSR_Q6_K = 14,
};

/// Bytes of one super-block of `format`.
long psr_superblock_bytes(int format);

/// y[i·ldy + j] = beta·y[i·ldy + j] + sum_t x[i·k + t]·w[j][t] for i < m, j in [j0, j1), where
/// row j of w is the k/256 super-blocks at blocks + j·(k/256)·psr_superblock_bytes(format), as a
/// GGUF file stores them. k must be a multiple of 256. Any CPU (AVX2 and F16C, or AVX-512, where
/// present; portable C otherwise). Where `packed` holds x as psr_pack_rows packs it (or is NULL),
/// products of many rows run as panels, with the same sums; with `packed_bf16`, as
/// psr_pack_rows_bf16 packs it, as bf16 panels (fp32 from x on a CPU without bf16 products).
void psr_superblock_gemm_nt(
    int format, int m, int k, const float *x, const float *packed, int packed_bf16, const unsigned char *blocks,
    float *y, long ldy, float beta, int j0, int j1);

/// out[r·k + t] = weight t of row r, for the `rows` rows of k values (k a multiple of 256) at
/// `blocks` in `format`: Dequantize's values, bit for bit (see superblock_gemm.c). Returns 0, and
/// writes nothing, on a CPU without AVX-512 (F, VL, BW); the caller then expands them itself.
int psr_superblock_expand_rows(int format, int k, const unsigned char *blocks, int rows, float *out);

/// Whether this CPU runs the 8-bit-activation products (AVX-512 F, BW, VL and VNNI, and F16C);
/// elsewhere psr_superblock_q8_gemm_nt returns 0 and callers run the fp32 products.
int psr_q8_gemm_supported(void);

/// Bytes of m rows of k values quantized by psr_quantize_rows_q8k: 384 per 256 values below 16
/// rows; from 16 rows, 4672 per 256 values of each group of 16 rows (the last group padded).
long psr_q8k_rows_bytes(int m, int k);

/// Rows of an m-row quantization that belong together: 16 (a group) from 16 rows, else 1. Threads
/// that quantize parts of the rows should split them at multiples of this.
int psr_q8k_row_grain(int m);

/// Where value t (0…255) of a 256-value block sits in a quantized block for `format`'s weights
/// (Q6_K: t; Q4_K and Q5_K: sub-blocks of 32 in the order 0 2 1 3 4 6 5 7).
int psr_q8k_position(int format, int t);

/// Quantizes rows lo ..< hi of x (m × k, k a multiple of 256) to 8 bits per 256 values, as
/// llama.cpp's q8_K: scale d = −max/127 where max is the value of largest magnitude (the first
/// such), values a = round_half_even(x / d) clamped to ±127, and the sums that the weights'
/// offsets multiply (Q4_K, Q5_K: each 32 values; Q6_K: each 16). `out` holds
/// psr_q8k_rows_bytes(m, k) bytes, 64-byte aligned, laid out for m rows; the caller quantizing
/// hi = m also zeroes the last group's padding. A block of zeros (or NaNs) has d 0. Any CPU.
void psr_quantize_rows_q8k(int format, int m, int k, const float *x, void *out, int lo, int hi);

/// Block `block` of row `row` of m rows of k values quantized by psr_quantize_rows_q8k for
/// `format`: its scale d, its 256 values in natural order, and its 16 stored sums (Q4_K, Q5_K:
/// of values 32j … 32j + 31 for j < 8, then 0; Q6_K: of values 16j … 16j + 15).
void psr_q8k_read_block(
    const void *rows, int m, int k, int row, int block, int format, float *scale, signed char *values, short *sums);

/// y[i·ldy + j] = beta·y[i·ldy + j] + sum_t x[i][t]·w[j][t] for i < m, j in [j0, j1), with x quantized
/// by psr_quantize_rows_q8k for this format and w's rows the K-quant super-blocks of
/// psr_superblock_gemm_nt: integer products, scaled once per super-block, each output the same bits
/// for any m. Returns 0, having written nothing, where the CPU lacks psr_q8_gemm_supported() (or,
/// from 16 rows, where a thread's 1.5 KB-per-super-block unpacking buffer is refused).
int psr_superblock_q8_gemm_nt(
    int format, int m, int k, const void *xq, const unsigned char *blocks, float *y, long ldy, float beta, int j0,
    int j1);

/// Bytes of m rows of k values quantized by psr_quantize_rows_q8b (192 per 64 values, and 64 per
/// 16 blocks of sums; rows 64-byte aligned where `out` is).
long psr_q8b_rows_bytes(int m, int k);

/// Quantizes rows x (m × k, k a multiple of 32) to 8 bits per 32 values for products with the
/// weights of psr_quantized_gemm_nt's `format`, as llama.cpp's q8_0 and q8_1 with fp32 fields:
/// scale dx = max/127 where max is the largest magnitude, values a = round_half_even(x / dx)
/// clamped to ±127, and dx·Σa. `out` holds psr_q8b_rows_bytes(m, k) bytes, 64-byte aligned.
/// A block of zeros (or NaNs) has dx 0. Any CPU.
void psr_quantize_rows_q8b(int format, int m, int k, const float *x, void *out);

/// Block `block` of row `row` of rows quantized by psr_quantize_rows_q8b: its scale dx, dx·Σa, and
/// its 32 values in natural order.
void psr_q8b_read_block(const void *rows, int k, long row, int block, int format, float *scale, float *sum, signed char *values);

/// psr_quantized_gemm_nt with x quantized by psr_quantize_rows_q8b for this format: integer
/// products (vpdpbusd) scaled once per 32-weight block. Returns 0, having written nothing, where
/// the CPU lacks psr_q8_gemm_supported().
int psr_quantized_q8_gemm_nt(
    int format, int m, int k, const void *xq, const unsigned char *quants, const float *scales, float *y, long ldy,
    float beta, int j0, int j1);

#endif
