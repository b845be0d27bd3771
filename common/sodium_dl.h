/*
 * libsodium through dlopen (lib_dl.h).  Included by seal.c after
 * <sodium.h>: its calls go through the table, with libsodium's own
 * prototypes; sodium_dl_load must have returned 0 first.
 */
#ifndef CP_SODIUM_DL_H
#define CP_SODIUM_DL_H

#include <sodium.h>

#include "lib_dl.h"

/* Debian's libsodium23 (packaging/debian/control names the package). */
#define SODIUM_DL_SONAME	"libsodium.so.23"

#define SODIUM_DL_FUNCS(X) \
	X(sodium_init) X(crypto_scalarmult_base) X(crypto_box_keypair) \
	X(crypto_box_seal) X(crypto_box_seal_open)

struct sodium_dl {
	SODIUM_DL_FUNCS(LIB_DL_MEMBER)
};

extern struct sodium_dl sodium_dl;

/* Loads libsodium and the functions above, once.  0, or -1 with e set. */
int	sodium_dl_load(struct err *e);

#ifndef LIB_DL_SELF
#define sodium_init		(*sodium_dl.sodium_init)
#define crypto_scalarmult_base	(*sodium_dl.crypto_scalarmult_base)
#define crypto_box_keypair	(*sodium_dl.crypto_box_keypair)
#define crypto_box_seal		(*sodium_dl.crypto_box_seal)
#define crypto_box_seal_open	(*sodium_dl.crypto_box_seal_open)
#endif

#endif
