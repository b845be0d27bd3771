/*
 * certpull's persisted state: the serial, digest and signer of the last
 * installed bundle (STATE_DIR/installed), which anti-rollback checks read.
 */
#ifndef CP_STATE_H
#define CP_STATE_H

#include <stdint.h>

#include "err.h"
#include "sig.h"

struct pullstate {
	int		have;		/* 0: nothing installed yet */
	uint64_t	serial;
	uint8_t		digest[32];
	uint8_t		keyid[SIG_KEYID_LEN];
};

/* Loads the state (have = 0 if none).  0, or -1 with e set (corrupt). */
int	pullstate_load(const char *state_dir, struct pullstate *st, struct err *e);
/* Writes it atomically (0600).  0, or -1 with e set. */
int	pullstate_save(const char *state_dir, const struct pullstate *st, struct err *e);

#endif
