#define CURL_DL_SELF
#include <stddef.h>

#include "curl_dl.h"
#include "lib_dl.h"

/* The soname libcurl4-openssl-dev links to (packaging names its package). */
#define CURL_DL_SONAME	"libcurl.so.4"

struct curl_dl curl_dl;

int
curl_dl_load(struct err *e)
{
	static void *handle;
	static const char *const names[] = {
		"curl_global_init", "curl_global_cleanup", "curl_easy_init",
		"curl_easy_setopt", "curl_easy_perform", "curl_easy_getinfo",
		"curl_easy_cleanup", "curl_easy_strerror", "curl_slist_append",
		"curl_slist_free_all",
	};
	static void **const slots[] = {
		(void **)&curl_dl.global_init, (void **)&curl_dl.global_cleanup,
		(void **)&curl_dl.easy_init, (void **)&curl_dl.easy_setopt,
		(void **)&curl_dl.easy_perform, (void **)&curl_dl.easy_getinfo,
		(void **)&curl_dl.easy_cleanup, (void **)&curl_dl.easy_strerror,
		(void **)&curl_dl.slist_append, (void **)&curl_dl.slist_free_all,
	};

	_Static_assert(sizeof(names) / sizeof(names[0]) ==
	    sizeof(slots) / sizeof(slots[0]), "one slot a name");
	return lib_dl_load(&handle, CURL_DL_SONAME, names, slots,
	    sizeof(names) / sizeof(names[0]), e);
}
