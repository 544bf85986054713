// How fast this machine's cores can read memory they did not just write: the roof under
// single-stream decoding, which reads every weight once per token. Reads a buffer larger than the
// last-level cache with 512-bit (or 256-bit) loads on `threads` threads, each its own contiguous
// half, and prints the best of `runs` passes in GB/s (10^9 bytes per second).
//   cc -O2 -march=native -pthread experiments/bench/read_bandwidth.c -o /tmp/read_bandwidth
//   /tmp/read_bandwidth [MB (default 1024)] [threads (default 2)] [runs (default 7)]
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  const char *base;
  size_t bytes;
  double sum;
  pthread_barrier_t *start;
} part;

static void *reader(void *arg) {
  part *p = arg;
  pthread_barrier_wait(p->start);
#if defined(__AVX512F__)
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  for (size_t i = 0; i + 256 <= p->bytes; i += 256) {
    a = _mm512_add_epi64(a, _mm512_load_si512(p->base + i));
    b = _mm512_add_epi64(b, _mm512_load_si512(p->base + i + 64));
    c = _mm512_add_epi64(c, _mm512_load_si512(p->base + i + 128));
    d = _mm512_add_epi64(d, _mm512_load_si512(p->base + i + 192));
  }
  p->sum = (double)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d)));
#else
  __m256i a = _mm256_setzero_si256(), b = a;
  for (size_t i = 0; i + 64 <= p->bytes; i += 64) {
    a = _mm256_add_epi64(a, _mm256_load_si256((const __m256i *)(p->base + i)));
    b = _mm256_add_epi64(b, _mm256_load_si256((const __m256i *)(p->base + i + 32)));
  }
  int64_t lanes[4];
  _mm256_storeu_si256((__m256i *)lanes, _mm256_add_epi64(a, b));
  p->sum = (double)(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
#endif
  return NULL;
}

int main(int argc, char **argv) {
  const size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
  const int threads = argc > 2 ? atoi(argv[2]) : 2, runs = argc > 3 ? atoi(argv[3]) : 7;
  if (mb < 64 || mb > (1u << 20) || threads < 1 || threads > 64 || runs < 1 || runs > 1000) {
    fprintf(stderr, "usage: read_bandwidth [MB 64-1048576] [threads 1-64] [runs 1-1000]\n");
    return 2;
  }
  const size_t bytes = mb << 20, share = bytes / (size_t)threads / 256 * 256;
  char *buffer = aligned_alloc(64, bytes);
  if (!buffer) {
    fprintf(stderr, "read_bandwidth: cannot allocate %zu MB\n", mb);
    return 1;
  }
  for (size_t i = 0; i < bytes; i++) buffer[i] = (char)i;  // resident and not all zero pages
  double best = 0, check = 0;
  for (int run = 0; run < runs; run++) {
    pthread_t ids[64];
    part parts[64];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) {
      parts[t] = (part){buffer + (size_t)t * share, share, 0, &start};
      pthread_create(&ids[t], NULL, reader, &parts[t]);
    }
    struct timespec t0, t1;
    pthread_barrier_wait(&start);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL), check += parts[t].sum;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_barrier_destroy(&start);
    const double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    const double rate = (double)(share * (size_t)threads) / seconds / 1e9;
    if (rate > best) best = rate;
  }
  printf("{\"read_gb_s\": %.1f, \"mb\": %zu, \"threads\": %d, \"runs\": %d, \"nonzero\": %d}\n", best, mb, threads, runs, check != 0);
  free(buffer);
  return 0;
}
