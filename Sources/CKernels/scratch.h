// Per-thread scratch of the panel and outer-product kernels (internal to CKernels).
#ifndef PSR_SCRATCH_H
#define PSR_SCRATCH_H

#include <stddef.h>

/// Slots of psr_scratch: each kernel keeps its buffers in its own slots.
enum {
  PSR_SCRATCH_PANEL_ACC,
  PSR_SCRATCH_PANEL_WEIGHTS,
  PSR_SCRATCH_OUTER_B,
  PSR_SCRATCH_OUTER_A,
  PSR_SCRATCH_PORTABLE_ROW,
  PSR_SCRATCH_Q8K_UNPACKED,
  PSR_SCRATCH_SLOTS
};

/// A 64-byte aligned buffer of at least `bytes` for this thread, grown to the largest request seen
/// and freed when the thread exits; NULL when memory is refused.
void *psr_scratch(int slot, size_t bytes);

#endif
