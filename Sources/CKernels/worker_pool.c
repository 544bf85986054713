#include "psr_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

// A spin-wait hint: `pause` on x86-64, `yield` on aarch64, nothing elsewhere.
static inline void spin_pause(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

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

// A job is claimed part by part through one word, `ticket`: the job's generation (high 32 bits),
// its number of parts (16 bits) and the next unclaimed part (low 16). A worker claims a part only by a compare-and-swap
// that still shows the generation it woke for, so a worker that lags behind one job can never take
// a part of the next one (counting it twice and letting the submitter return while a part of its
// job still runs). A claimed part pins its job: the submitter cannot publish another until that
// part is counted done, so `job_fn` and `job_ctx` read after the claim are the job's own.
static void (*job_fn)(void *, int);
static void *job_ctx;
static atomic_int job_done;
static _Atomic unsigned long long ticket;
static atomic_int sleepers;

#define MAX_PARTS 0xffff

static unsigned generation_of(unsigned long long t) { return (unsigned)(t >> 32); }
static int parts_of(unsigned long long t) { return (int)((t >> 16) & MAX_PARTS); }
static int next_of(unsigned long long t) { return (int)(t & MAX_PARTS); }

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void work(unsigned generation) {
  for (;;) {
    unsigned long long t = atomic_load(&ticket);
    if (generation_of(t) != generation) return;
    int part = next_of(t);
    if (part >= parts_of(t)) return;
    if (!atomic_compare_exchange_weak(&ticket, &t, t + 1)) continue;
    job_fn(job_ctx, part);
    atomic_fetch_add(&job_done, 1);
  }
}

static void *worker_main(void *arg) {
  (void)arg;
  unsigned seen = generation_of(atomic_load(&ticket));
  for (;;) {
    long long start = now_ns();
    int spins = 0;
    while (generation_of(atomic_load(&ticket)) == seen) {
      if (++spins % 256 == 0 && now_ns() - start > SPIN_NANOSECONDS) {
        pthread_mutex_lock(&sleep_lock);
        atomic_fetch_add(&sleepers, 1);
        while (generation_of(atomic_load(&ticket)) == seen) pthread_cond_wait(&wake, &sleep_lock);
        atomic_fetch_sub(&sleepers, 1);
        pthread_mutex_unlock(&sleep_lock);
        break;
      }
      // Yield now and then, so that a spinning worker never holds a core that OpenBLAS's own
      // threads (prefill, training) are waiting for.
      if (spins % 64 == 0) sched_yield(); else spin_pause();
    }
    seen = generation_of(atomic_load(&ticket));
    work(seen);
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
  if (parts > MAX_PARTS) return 0;
  if (workers == 0 || parts == 1) {
    for (int p = 0; p < parts; p++) fn(ctx, p);
    return 1;
  }
  // One job at a time; a nested or concurrent call is for the caller to run otherwise.
  if (pthread_mutex_trylock(&submit) != 0) return 0;
  job_fn = fn;
  job_ctx = ctx;
  atomic_store(&job_done, 0);
  unsigned generation = generation_of(atomic_load(&ticket)) + 1;
  atomic_store(&ticket, (unsigned long long)generation << 32 | (unsigned long long)parts << 16);
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&sleep_lock);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&sleep_lock);
  }
  work(generation);
  while (atomic_load_explicit(&job_done, memory_order_acquire) < parts) spin_pause();
  pthread_mutex_unlock(&submit);
  return 1;
}
