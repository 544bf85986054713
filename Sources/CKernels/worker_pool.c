#include "psr_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

// A persistent pool for the many short parallel loops of decoding (five a layer, each tens of
// microseconds). Waking a sleeping thread per loop costs about as much as the loop, so workers
// spin briefly on a generation counter before sleeping on a condition variable.

#define MAX_WORKERS 64
#define SPIN_NANOSECONDS 100000

static pthread_mutex_t submit = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int workers = 0;

static void (*job_fn)(void *, int);
static void *job_ctx;
static atomic_int job_parts;
static atomic_int job_next;
static atomic_int job_done;
static atomic_uint generation;
static atomic_int sleepers;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void work(void) {
  int p;
  while ((p = atomic_fetch_add(&job_next, 1)) < job_parts) {
    job_fn(job_ctx, p);
    atomic_fetch_add(&job_done, 1);
  }
}

static void *worker_main(void *arg) {
  (void)arg;
  unsigned seen = atomic_load(&generation);
  for (;;) {
    long long start = now_ns();
    int spins = 0;
    while (atomic_load_explicit(&generation, memory_order_acquire) == seen) {
      if (++spins % 256 == 0 && now_ns() - start > SPIN_NANOSECONDS) {
        pthread_mutex_lock(&sleep_lock);
        atomic_fetch_add(&sleepers, 1);
        while (atomic_load(&generation) == seen) pthread_cond_wait(&wake, &sleep_lock);
        atomic_fetch_sub(&sleepers, 1);
        pthread_mutex_unlock(&sleep_lock);
        break;
      }
      // Yield now and then, so that a spinning worker never holds a core that OpenBLAS's own
      // threads (prefill, training) are waiting for.
      if (spins % 64 == 0) sched_yield(); else __builtin_ia32_pause();
    }
    seen = atomic_load(&generation);
    work();
  }
  return 0;
}

static void start_workers(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  workers = cores > 1 ? (int)(cores - 1 < MAX_WORKERS ? cores - 1 : MAX_WORKERS) : 0;
  for (int i = 0; i < workers; i++) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker_main, 0) != 0) workers = i;
    pthread_attr_destroy(&attr);
  }
}

int psr_pool_run(int parts, void (*fn)(void *, int), void *ctx) {
  pthread_once(&once, start_workers);
  if (parts <= 0) return 1;
  if (workers == 0 || parts == 1) {
    for (int p = 0; p < parts; p++) fn(ctx, p);
    return 1;
  }
  // One job at a time; a nested or concurrent call is for the caller to run otherwise.
  if (pthread_mutex_trylock(&submit) != 0) return 0;
  job_fn = fn;
  job_ctx = ctx;
  job_parts = parts;
  atomic_store(&job_done, 0);
  atomic_store(&job_next, 0);
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&sleep_lock);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&sleep_lock);
  }
  work();
  while (atomic_load_explicit(&job_done, memory_order_acquire) < parts) __builtin_ia32_pause();
  pthread_mutex_unlock(&submit);
  return 1;
}
