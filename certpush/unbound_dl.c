#define UNBOUND_DL_SELF
#include <stddef.h>
#include <stdio.h>

#include "lib_dl.h"
#include "unbound_dl.h"

/* The soname libunbound-dev links to (packaging names its package). */
#define UNBOUND_DL_SONAME	"libunbound.so.8"

struct unbound_dl unbound_dl;

int
unbound_dl_load(struct err *e)
{
	static void *handle;
	static const char *const names[] = {
		"ub_ctx_create", "ub_ctx_delete", "ub_ctx_async", "ub_ctx_set_fwd",
		"ub_ctx_resolvconf", "ub_ctx_add_ta_file", "ub_ctx_zone_remove",
		"ub_fd", "ub_process", "ub_resolve_async", "ub_cancel",
		"ub_resolve_free", "ub_strerror",
	};
	static void **const slots[] = {
		(void **)&unbound_dl.ctx_create, (void **)&unbound_dl.ctx_delete,
		(void **)&unbound_dl.ctx_async, (void **)&unbound_dl.ctx_set_fwd,
		(void **)&unbound_dl.ctx_resolvconf,
		(void **)&unbound_dl.ctx_add_ta_file,
		(void **)&unbound_dl.ctx_zone_remove, (void **)&unbound_dl.fd,
		(void **)&unbound_dl.process, (void **)&unbound_dl.resolve_async,
		(void **)&unbound_dl.cancel, (void **)&unbound_dl.resolve_free,
		(void **)&unbound_dl.strerror,
	};
	char why[sizeof(e->msg)];

	_Static_assert(sizeof(names) / sizeof(names[0]) ==
	    sizeof(slots) / sizeof(slots[0]), "one slot a name");
	if (lib_dl_load(&handle, UNBOUND_DL_SONAME, names, slots,
	    sizeof(names) / sizeof(names[0]), e) == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", e->msg);
	return err_set(e, "%s (needed by dns: and dane:)", why);
}
