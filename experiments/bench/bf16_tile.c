// Microbenchmark for issue 31 item 1 (bf16 products): a 6x4 register tile of fp32 FMAs against the same
// tile with vdpbf16ps (pairs of bf16, fp32 accumulation), on an L1-resident panel, K = 256, NC = 32.
// Build and run: clang -O2 -o /tmp/bf16_tile experiments/bench/bf16_tile.c && /tmp/bf16_tile
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define K 256
#define NC 32
#define MR 6
#include <stdint.h>
#include <string.h>
static __bf16 tobf(float f) { uint32_t u; memcpy(&u, &f, 4); u += 0x7fff + ((u >> 16) & 1); uint16_t h = u >> 16; __bf16 b; memcpy(&b, &h, 2); return b; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

__attribute__((target("avx512f"))) static void tile_f32(const float *x, const float *w, float *y) {
  __m512 acc[6][4];
  for (int r = 0; r < 6; r++) for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
  for (int t = 0; t < K; t += 16) {
    __m512 wv[4];
    for (int c = 0; c < 4; c++) wv[c] = _mm512_loadu_ps(w + c * K + t);
    for (int r = 0; r < 6; r++) { __m512 xv = _mm512_loadu_ps(x + r * K + t); for (int c = 0; c < 4; c++) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]); }
  }
  for (int r = 0; r < 6; r++) for (int c = 0; c < 4; c++) y[r * 4 + c] += _mm512_reduce_add_ps(acc[r][c]);
}

__attribute__((target("avx512f,avx512bf16"))) static void tile_bf16(const __bf16 *x, const __bf16 *w, float *y) {
  __m512 acc[6][4];
  for (int r = 0; r < 6; r++) for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
  for (int t = 0; t < K; t += 32) {
    __m512bh wv[4];
    for (int c = 0; c < 4; c++) wv[c] = (__m512bh)_mm512_loadu_si512(w + c * K + t);
    for (int r = 0; r < 6; r++) { __m512bh xv = (__m512bh)_mm512_loadu_si512(x + r * K + t); for (int c = 0; c < 4; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], xv, wv[c]); }
  }
  for (int r = 0; r < 6; r++) for (int c = 0; c < 4; c++) y[r * 4 + c] += _mm512_reduce_add_ps(acc[r][c]);
}

int main(void) {
  float *x = aligned_alloc(64, sizeof(float) * MR * K), *w = aligned_alloc(64, sizeof(float) * NC * K), y[24] = {0};
  __bf16 *xb = aligned_alloc(64, 2 * MR * K), *wb = aligned_alloc(64, 2 * NC * K);
  for (int i = 0; i < MR * K; i++) { x[i] = (float)rand() / RAND_MAX - 0.5f; xb[i] = tobf(x[i]); }
  for (int i = 0; i < NC * K; i++) { w[i] = (float)rand() / RAND_MAX - 0.5f; wb[i] = tobf(w[i]); }
  long reps = 200000;
  double t0 = now();
  for (long i = 0; i < reps; i++) for (int j = 0; j < NC; j += 4) tile_f32(x, w + j * K, y);
  double f = now() - t0;
  t0 = now();
  for (long i = 0; i < reps; i++) for (int j = 0; j < NC; j += 4) tile_bf16(xb, wb + j * K, y);
  double b = now() - t0;
  double macs = (double)reps * NC * MR * K;
  printf("fp32 %.1f GMAC/s, bf16 %.1f GMAC/s (x%.2f)  [y0 %g]\n", macs / f / 1e9, macs / b / 1e9, f / b, y[0]);
  return 0;
}
