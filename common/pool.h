/*
 * A bounded pool of threads over n independent jobs: at most conc run at
 * once, each thread takes the next job index atomically, so a slow job
 * holds one slot and never delays the others.  fn(arg, i) must be safe
 * to run concurrently for different i.
 */
#ifndef CP_POOL_H
#define CP_POOL_H

#include <stddef.h>

#define POOL_THREADS_MAX	256

/* Runs fn(arg, 0..n-1), returning when all are done. */
void	pool_run(size_t n, unsigned long conc, void (*fn)(void *arg, size_t i), void *arg);

#endif
