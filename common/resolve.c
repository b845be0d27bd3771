#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "resolve.h"

/*
 * One lookup handed to getaddrinfo_a(), shared by the caller and the
 * completion notice: whichever of the two lets go last frees it, so that
 * the caller may give up at its deadline while the lookup runs on.
 */
struct lookup {
	struct gaicb	 cb;
	struct addrinfo	 hints;
	char		 service[8];
	char		*host;
	atomic_int	 refs;
};

static void
lookup_unref(struct lookup *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	if (l->cb.ar_result != NULL)
		freeaddrinfo(l->cb.ar_result);
	free(l->host);
	free(l);
}

/* The completion notice (a thread of glibc's), sent once per queued lookup. */
static void
lookup_done(union sigval v)
{
	lookup_unref(v.sival_ptr);
}

/* Waits for l until deadline.  Its status: 0, EAI_INPROGRESS or an EAI_ error. */
static int
lookup_wait(struct lookup *l, long long deadline)
{
	const struct gaicb *list[1] = { &l->cb };
	struct timespec ts;
	long long left;
	int rc;

	while ((rc = gai_error(&l->cb)) == EAI_INPROGRESS &&
	    (left = deadline - clock_ms()) > 0) {
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		gai_suspend(list, 1, &ts);
	}
	return rc;
}

int
resolve(const char *host, unsigned port, long long deadline, struct addrinfo **out,
    struct err *e)
{
	struct addrinfo numeric = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD,
	    .sigev_notify_function = lookup_done };
	struct gaicb *list[1];
	struct lookup *l;
	char service[8];
	int rc;

	snprintf(service, sizeof(service), "%u", port);
	/* An address needs no lookup, and no thread. */
	if (getaddrinfo(host, service, &numeric, out) == 0)
		return 0;
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->host = strdup(host)) == NULL) {
		free(l);
		return err_set(e, "%s: out of memory", host);
	}
	memcpy(l->service, service, sizeof(service));
	l->hints.ai_socktype = SOCK_STREAM;
	l->cb.ar_name = l->host;
	l->cb.ar_service = l->service;
	l->cb.ar_request = &l->hints;
	atomic_init(&l->refs, 2);
	sev.sigev_value.sival_ptr = l;
	list[0] = &l->cb;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev)) != 0) {
		/* Not queued: no notice will come. */
		free(l->host);
		free(l);
		return err_set(e, "%s: %s", host, rc == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(rc));
	}
	if ((rc = lookup_wait(l, deadline)) == 0) {
		*out = l->cb.ar_result;
		l->cb.ar_result = NULL;
	} else if (rc == EAI_INPROGRESS)
		err_set(e, "%s: name lookup timed out", host);
	else
		err_set(e, "%s: %s", host, gai_strerror(rc));
	lookup_unref(l);
	return rc == 0 ? 0 : -1;
}
