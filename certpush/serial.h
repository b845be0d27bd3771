/*
 * The bundle serial: 64-bit, strictly increasing across restarts.  The
 * next serial is max(last + 1, now) and is written (atomically) before it
 * is used, so a crash can skip a serial but never reuse one; taking the
 * clock as a floor means a lost state directory does not make every
 * node refuse the next bundle as a rollback.
 */
#ifndef CP_SERIAL_H
#define CP_SERIAL_H

#include <stdint.h>
#include <time.h>

#include "err.h"

/* Reads the last serial (0 if none yet).  0, or -1 with e set. */
int	serial_last(const char *state_dir, uint64_t *out, struct err *e);
/* Allocates and persists the next serial.  0, or -1 with e set. */
int	serial_next(const char *state_dir, time_t now, uint64_t *out, struct err *e);

#endif
