/*
 * The bundle serial: 64-bit, strictly increasing across restarts.  The
 * next serial is max(last + 1, now) and is written (atomically) before it
 * is used, so a crash can skip a serial but never reuse one; taking the
 * clock as a floor means a lost state directory does not make every
 * node refuse the next bundle as a rollback.
 *
 * Fronts that take over from one another (a standby front, with its own
 * signing key) each have a front id, 0 to 15: their serials are then
 * now * 16 + id, or the next number above the last with those low bits,
 * so two fronts never hand out the same serial (which every node would
 * refuse as "same serial with other content") and serials from any front
 * still follow the clock.
 */
#ifndef CP_SERIAL_H
#define CP_SERIAL_H

#include <stdint.h>
#include <time.h>

#include "err.h"

#define SERIAL_FRONT_BITS	4
#define SERIAL_FRONT_MAX	15

/* Reads the last serial (0 if none yet).  0, or -1 with e set. */
int	serial_last(const char *state_dir, uint64_t *out, struct err *e);
/*
 * The serial that follows last at now, for front_id (-1: none, the plain
 * clock; or 0 to 15).  Pure: persists nothing.  0, or -1 with e set when
 * no serial is left.
 */
int	serial_after(uint64_t last, time_t now, int front_id, uint64_t *out,
	    struct err *e);
/* Allocates and persists the next serial.  0, or -1 with e set. */
int	serial_next(const char *state_dir, time_t now, int front_id, uint64_t *out,
	    struct err *e);

#endif
