#define UNBOUND_DL_SELF
#include <dlfcn.h>
#include <stddef.h>

#include "unbound_dl.h"

/* The soname libunbound-dev links to (packaging names its package). */
#define UNBOUND_DL_SONAME	"libunbound.so.8"

struct unbound_dl unbound_dl;

static void *unbound_handle;

/* Points *slot at name's symbol in h; -1 with e set if there is none. */
static int
sym(void *h, const char *name, void *slot, struct err *e)
{
	void *p = dlsym(h, name);

	if (p == NULL)
		return err_set(e, "%s: no %s", UNBOUND_DL_SONAME, name);
	/* POSIX: a function pointer may be stored as a void * (dlsym). */
	*(void **)slot = p;
	return 0;
}

int
unbound_dl_load(struct err *e)
{
	struct unbound_dl t;
	void *h;
	const char *why;

	if (unbound_handle != NULL)
		return 0;
	if ((h = dlopen(UNBOUND_DL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		return err_set(e, "cannot load libunbound (needed by dns: and dane:): %s",
		    why != NULL ? why : "?");
	}
	if (sym(h, "ub_ctx_create", &t.ctx_create, e) == -1 ||
	    sym(h, "ub_ctx_delete", &t.ctx_delete, e) == -1 ||
	    sym(h, "ub_ctx_async", &t.ctx_async, e) == -1 ||
	    sym(h, "ub_ctx_set_fwd", &t.ctx_set_fwd, e) == -1 ||
	    sym(h, "ub_ctx_resolvconf", &t.ctx_resolvconf, e) == -1 ||
	    sym(h, "ub_ctx_add_ta_file", &t.ctx_add_ta_file, e) == -1 ||
	    sym(h, "ub_ctx_zone_remove", &t.ctx_zone_remove, e) == -1 ||
	    sym(h, "ub_fd", &t.fd, e) == -1 ||
	    sym(h, "ub_process", &t.process, e) == -1 ||
	    sym(h, "ub_resolve_async", &t.resolve_async, e) == -1 ||
	    sym(h, "ub_cancel", &t.cancel, e) == -1 ||
	    sym(h, "ub_resolve_free", &t.resolve_free, e) == -1 ||
	    sym(h, "ub_strerror", &t.strerror, e) == -1) {
		dlclose(h);
		return -1;
	}
	unbound_dl = t;
	unbound_handle = h;
	return 0;
}
