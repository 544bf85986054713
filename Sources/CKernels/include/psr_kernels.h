#ifndef PSR_KERNELS_H
#define PSR_KERNELS_H

/// Whether this CPU has AVX2 and FMA (the small-batch kernel needs both).
int psr_has_avx2_fma(void);

/// y[i][j] = beta * y[i][j] + sum_t x[i][t] * w[j][t] for i < m, j in [j0, j1), with x (m x k),
/// w (n x k) and y (m x n) dense row-major. Each weight row is read once for all m rows, which
/// is what small batches need (sgemm would first repack the whole weight matrix).
/// Requires psr_has_avx2_fma().
void psr_small_gemm_nt(int m, int n, int k, const float *x, const float *w, float *y, float beta, int j0, int j1);

#endif
