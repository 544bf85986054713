#ifndef PSR_KERNELS_H
#define PSR_KERNELS_H

/// Whether this CPU has AVX2 and FMA (the small-batch kernel needs both).
int psr_has_avx2_fma(void);

/// y[i][j] = beta * y[i][j] + sum_t x[i][t] * w[j][t] for i < m, j in [j0, j1), with x (m x k),
/// w (n x k) and y (m x n) dense row-major. Each weight row is read once for all m rows, which
/// is what small batches need (sgemm would first repack the whole weight matrix).
/// Requires psr_has_avx2_fma().
void psr_small_gemm_nt(int m, int n, int k, const float *x, const float *w, float *y, float beta, int j0, int j1);

/// x[i] = exp(x[i] - shift) for i < count; returns the sum. AVX2 when available, libm otherwise.
/// exp = 2^n e^r with |r| <= ln2/2 and a degree-6 polynomial (relative error < 1e-6);
/// inputs below -87.3 give 0, above 88.3 are clamped.
float psr_exp_shifted(float *x, int count, float shift);

/// y[i] = g[i] / (1 + exp(-g[i])) * u[i] (SwiGLU) for i < count.
void psr_swiglu(const float *g, const float *u, float *y, int count);

#endif
