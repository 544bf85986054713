#include "scratch.h"

#include <pthread.h>
#include <stdlib.h>

// A product runs in tens of microseconds per layer when decoding small batches, too short to map
// fresh memory each time; so each thread keeps its buffers. They are freed by a thread-exit
// destructor, because libdispatch retires idle threads and starts new ones during a long serve.

typedef struct {
  void *buffer[PSR_SCRATCH_SLOTS];
  size_t size[PSR_SCRATCH_SLOTS];
} buffers;

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int key_ok;

static void release(void *p) {
  buffers *b = p;
  for (int i = 0; i < PSR_SCRATCH_SLOTS; i++) free(b->buffer[i]);
  free(b);
}

static void make_key(void) { key_ok = pthread_key_create(&key, release) == 0; }

void *psr_scratch(int slot, size_t bytes) {
  pthread_once(&once, make_key);
  if (!key_ok || slot < 0 || slot >= PSR_SCRATCH_SLOTS) return NULL;
  buffers *b = pthread_getspecific(key);
  if (!b) {
    b = calloc(1, sizeof(buffers));
    if (!b || pthread_setspecific(key, b) != 0) {
      free(b);
      return NULL;
    }
  }
  if (b->size[slot] < bytes) {
    free(b->buffer[slot]);
    bytes = (bytes + 4095) & ~(size_t)4095;
    b->buffer[slot] = aligned_alloc(64, bytes);
    b->size[slot] = b->buffer[slot] ? bytes : 0;
  }
  return b->buffer[slot];
}
