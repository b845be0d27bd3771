/*
 * libunbound, loaded with dlopen(3) on first use instead of linked: only
 * the DNSSEC lookups of dns.c need it (a dns: or dane: configuration,
 * "certpush tlsa", the DANE and DKIM checks), and linking it maps it and
 * nettle, hogweed, gmp and libevent (about 700 KiB resident) into every
 * certpush, the idle watch daemon included.  Included by dns.c after
 * <unbound.h>: the ub_* calls there go through the table, with the same
 * prototypes.  common/curl_dl.h does the same for libcurl.
 */
#ifndef CP_UNBOUND_DL_H
#define CP_UNBOUND_DL_H

#include <unbound.h>

#include "err.h"

struct unbound_dl {
	struct ub_ctx	*(*ctx_create)(void);
	void		 (*ctx_delete)(struct ub_ctx *);
	int		 (*ctx_async)(struct ub_ctx *, int);
	int		 (*ctx_set_fwd)(struct ub_ctx *, const char *);
	int		 (*ctx_resolvconf)(struct ub_ctx *, const char *);
	int		 (*ctx_add_ta_file)(struct ub_ctx *, const char *);
	int		 (*ctx_zone_remove)(struct ub_ctx *, const char *);
	int		 (*fd)(struct ub_ctx *);
	int		 (*process)(struct ub_ctx *);
	int		 (*resolve_async)(struct ub_ctx *, const char *, int, int,
			    void *, ub_callback_type, int *);
	int		 (*cancel)(struct ub_ctx *, int);
	void		 (*resolve_free)(struct ub_result *);
	const char	*(*strerror)(int);
};

extern struct unbound_dl unbound_dl;

/*
 * Loads libunbound (its soname, UNBOUND_DL_SONAME) and every function
 * above, once; later calls return at once.  0, or -1 with e set ("cannot
 * load libunbound: ..." when the library is missing).  Called before the
 * first ub_ctx_create, from one thread.
 */
int	unbound_dl_load(struct err *e);

#ifndef UNBOUND_DL_SELF
#define ub_ctx_create		(*unbound_dl.ctx_create)
#define ub_ctx_delete		(*unbound_dl.ctx_delete)
#define ub_ctx_async		(*unbound_dl.ctx_async)
#define ub_ctx_set_fwd		(*unbound_dl.ctx_set_fwd)
#define ub_ctx_resolvconf	(*unbound_dl.ctx_resolvconf)
#define ub_ctx_add_ta_file	(*unbound_dl.ctx_add_ta_file)
#define ub_ctx_zone_remove	(*unbound_dl.ctx_zone_remove)
#define ub_fd			(*unbound_dl.fd)
#define ub_process		(*unbound_dl.process)
#define ub_resolve_async	(*unbound_dl.resolve_async)
#define ub_cancel		(*unbound_dl.cancel)
#define ub_resolve_free		(*unbound_dl.resolve_free)
#define ub_strerror		(*unbound_dl.strerror)
#endif

#endif
