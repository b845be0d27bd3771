#define LIB_DL_SELF
#include <dlfcn.h>
#include <pthread.h>

#include "lib_dl.h"
#include "sodium_dl.h"
#include "ssh2_dl.h"
#include "ssl_dl.h"

struct sodium_dl sodium_dl;
struct ssh2_dl ssh2_dl;
struct ssl_dl ssl_dl;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Fills slots from h; -1 with e set at the first missing function. */
static int
resolve(void *h, const char *soname, const char *const *names, void **const *slots,
    size_t n, struct err *e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* POSIX: a function pointer may be stored as a void * (dlsym). */
		if ((*slots[i] = dlsym(h, names[i])) == NULL)
			return err_set(e, "%s: no %s", soname, names[i]);
	}
	return 0;
}

int
lib_dl_load(void **handle, const char *soname, const char *const *names,
    void **const *slots, size_t n, struct err *e)
{
	void *h;
	const char *why;
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (*handle != NULL)
		goto out;
	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		rc = err_set(e, "cannot load %s: %s", soname, why != NULL ? why : "?");
	} else if ((rc = resolve(h, soname, names, slots, n, e)) == -1)
		dlclose(h);
	else
		*handle = h;
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

int
sodium_dl_load(struct err *e)
{
	static void *handle;
	static const char *const names[] = { SODIUM_DL_FUNCS(LIB_DL_NAME) };
#define SODIUM_SLOT(f)	LIB_DL_SLOT(sodium_dl, f)
	static void **const slots[] = { SODIUM_DL_FUNCS(SODIUM_SLOT) };

	return lib_dl_load(&handle, SODIUM_DL_SONAME, names, slots,
	    sizeof(names) / sizeof(names[0]), e);
}

int
ssh2_dl_load(struct err *e)
{
	static void *handle;
	static const char *const names[] = { SSH2_DL_FUNCS(LIB_DL_NAME) };
#define SSH2_SLOT(f)	LIB_DL_SLOT(ssh2_dl, f)
	static void **const slots[] = { SSH2_DL_FUNCS(SSH2_SLOT) };

	return lib_dl_load(&handle, SSH2_DL_SONAME, names, slots,
	    sizeof(names) / sizeof(names[0]), e);
}

int
ssl_dl_load(struct err *e)
{
	static void *handle;
	static const char *const names[] = { SSL_DL_FUNCS(LIB_DL_NAME) };
#define SSL_SLOT(f)	LIB_DL_SLOT(ssl_dl, f)
	static void **const slots[] = { SSL_DL_FUNCS(SSL_SLOT) };

	return lib_dl_load(&handle, SSL_DL_SONAME, names, slots,
	    sizeof(names) / sizeof(names[0]), e);
}
