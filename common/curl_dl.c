#define CURL_DL_SELF
#include <dlfcn.h>
#include <stddef.h>

#include "curl_dl.h"

/* The soname libcurl4-openssl-dev links to (packaging names its package). */
#define CURL_DL_SONAME	"libcurl.so.4"

struct curl_dl curl_dl;

static void *curl_handle;

/* Points *slot at name's symbol in h; -1 with e set if there is none. */
static int
sym(void *h, const char *name, void *slot, struct err *e)
{
	void *p = dlsym(h, name);

	if (p == NULL)
		return err_set(e, "%s: no %s", CURL_DL_SONAME, name);
	/* POSIX: a function pointer may be stored as a void * (dlsym). */
	*(void **)slot = p;
	return 0;
}

int
curl_dl_load(struct err *e)
{
	struct curl_dl t;
	void *h;
	const char *why;

	if (curl_handle != NULL)
		return 0;
	if ((h = dlopen(CURL_DL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		return err_set(e, "cannot load libcurl: %s", why != NULL ? why : "?");
	}
	if (sym(h, "curl_global_init", &t.global_init, e) == -1 ||
	    sym(h, "curl_global_cleanup", &t.global_cleanup, e) == -1 ||
	    sym(h, "curl_easy_init", &t.easy_init, e) == -1 ||
	    sym(h, "curl_easy_setopt", &t.easy_setopt, e) == -1 ||
	    sym(h, "curl_easy_perform", &t.easy_perform, e) == -1 ||
	    sym(h, "curl_easy_getinfo", &t.easy_getinfo, e) == -1 ||
	    sym(h, "curl_easy_cleanup", &t.easy_cleanup, e) == -1 ||
	    sym(h, "curl_easy_strerror", &t.easy_strerror, e) == -1 ||
	    sym(h, "curl_slist_append", &t.slist_append, e) == -1 ||
	    sym(h, "curl_slist_free_all", &t.slist_free_all, e) == -1) {
		dlclose(h);
		return -1;
	}
	curl_dl = t;
	curl_handle = h;
	return 0;
}
