/*
 * libcurl, loaded with dlopen(3) on first use instead of linked: only
 * "certpull fetch" from mirrors and certpush's s3: uploads need it, and
 * linking it makes every process load some thirty libraries it pulls in
 * (about 3 ms of CPU at each start of certpull, and resident memory in
 * the certpush daemon).  Included by http.c after <curl/curl.h>: the
 * curl_* calls there go through the table, with the same prototypes.
 */
#ifndef CP_CURL_DL_H
#define CP_CURL_DL_H

#include <curl/curl.h>

#include "err.h"

struct curl_dl {
	CURLcode	 (*global_init)(long);
	void		 (*global_cleanup)(void);
	CURL		*(*easy_init)(void);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_perform)(CURL *);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	void		 (*easy_cleanup)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void		 (*slist_free_all)(struct curl_slist *);
};

extern struct curl_dl curl_dl;

/*
 * Loads libcurl (its soname, CURL_DL_SONAME) and every function above,
 * once; later calls return at once.  0, or -1 with e set.  Not thread
 * safe: called before any thread starts, as curl_global_init must be.
 */
int	curl_dl_load(struct err *e);

#ifndef CURL_DL_SELF
/* curl.h's type-checking macros call the real names: replaced here. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init	(*curl_dl.global_init)
#define curl_global_cleanup	(*curl_dl.global_cleanup)
#define curl_easy_init		(*curl_dl.easy_init)
#define curl_easy_setopt	(*curl_dl.easy_setopt)
#define curl_easy_perform	(*curl_dl.easy_perform)
#define curl_easy_getinfo	(*curl_dl.easy_getinfo)
#define curl_easy_cleanup	(*curl_dl.easy_cleanup)
#define curl_easy_strerror	(*curl_dl.easy_strerror)
#define curl_slist_append	(*curl_dl.slist_append)
#define curl_slist_free_all	(*curl_dl.slist_free_all)
#endif

#endif
