/*
 * libsodium, libssh2 and libssl are loaded with dlopen(3) on first use,
 * like libcurl (curl_dl.h), instead of linked into certpull: only sealed
 * bundles and keygen need libsodium, only the SFTP fetch needs libssh2,
 * only a TLS probe (live check, audit) needs libssl, and each linked
 * library costs every start of certpull (each install a push runs) its
 * mapping and symbol binding: about 0.1 ms of CPU each, with zlib, which
 * libssh2 pulls in.  certpush still links libssh2 (its main calls
 * libssh2_init before any thread): dlopen then returns that copy; it
 * loads libsodium at its first seal (seal_init, from any thread: the
 * load is locked and sodium_init is thread safe).
 *
 * sodium_dl.h, ssh2_dl.h and ssl_dl.h hold the tables; this is their
 * loader, and that of libcurl (curl_dl.c) and libunbound
 * (certpush/unbound_dl.c).
 */
#ifndef CP_LIB_DL_H
#define CP_LIB_DL_H

#include <stddef.h>

#include "err.h"

/*
 * Loads soname and its n functions names[i] into *slots[i], once per
 * *handle; later calls return at once.  Thread safe (one lock around the
 * first load).  0, or -1 with e set naming the library and the function.
 */
int	lib_dl_load(void **handle, const char *soname, const char *const *names,
	    void **const *slots, size_t n, struct err *e);

/* The member, name and slot of function f in table t (X-macro helpers). */
#define LIB_DL_MEMBER(f)	__typeof__(&f) f;
#define LIB_DL_NAME(f)		#f,
#define LIB_DL_SLOT(t, f)	(void **)&(t).f,

#endif
