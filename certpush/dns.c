#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unbound.h>

#include "clock.h"
#include "dns.h"
#include "unbound_dl.h"

struct dns_ctx {
	struct ub_ctx	*ub;
	long long	 deadline;	/* clock_ms() */
	unsigned long	 timeout;	/* seconds, for messages */
};

/* What the callback hands back to dns_resolve. */
struct pending {
	int		 done;
	int		 err;
	struct ub_result *res;
};

const char *
dns_state_name(enum dns_state s)
{
	switch (s) {
	case DNS_SECURE:
		return "secure";
	case DNS_INSECURE:
		return "insecure";
	case DNS_BOGUS:
		return "bogus";
	default:
		return "error";
	}
}

/* Forwarders, or /etc/resolv.conf's; the trust anchor in both cases. */
static int
setup(struct ub_ctx *ub, const struct dns_conf *c, struct err *e)
{
	const char *ta = c->trust_anchor ? c->trust_anchor : DNS_DEFAULT_ANCHOR;
	size_t i;
	int rc;

	if (access(ta, R_OK) == -1)
		return err_set(e, "dns: trust anchor %s: %s", ta, strerror(errno));
	/* Threads, not a forked helper: nothing outlives dns_close. */
	if ((rc = ub_ctx_async(ub, 1)) != 0)
		return err_set(e, "dns: %s", ub_strerror(rc));
	for (i = 0; i < c->nresolvers; i++)
		if ((rc = ub_ctx_set_fwd(ub, c->resolvers[i])) != 0)
			return err_set(e, "dns: resolver \"%s\": %s", c->resolvers[i],
			    ub_strerror(rc));
	if (c->nresolvers == 0 && (rc = ub_ctx_resolvconf(ub, NULL)) != 0)
		return err_set(e, "dns: /etc/resolv.conf: %s", ub_strerror(rc));
	/*
	 * libunbound validates by itself and ignores the upstream's AD bit:
	 * the anchor is needed even when forwarding to a validating resolver.
	 */
	if ((rc = ub_ctx_add_ta_file(ub, ta)) != 0)
		return err_set(e, "dns: trust anchor %s: %s", ta, ub_strerror(rc));
	/*
	 * "test." is one of libunbound's built-in static zones (every name
	 * NXDOMAIN); an estate that names its hosts there (labs, tests) must
	 * reach its own servers.  This call finalizes the context: last.
	 */
	if ((rc = ub_ctx_zone_remove(ub, "test.")) != 0 && rc != UB_NOERROR)
		return err_set(e, "dns: %s", ub_strerror(rc));
	return 0;
}

struct dns_ctx *
dns_open(const struct dns_conf *c, struct err *e)
{
	struct dns_ctx *d;

	if (unbound_dl_load(e) == -1)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		err_set(e, "out of memory");
		return NULL;
	}
	d->timeout = c->timeout ? c->timeout : 10;
	d->deadline = clock_ms() + (long long)d->timeout * 1000;
	if ((d->ub = ub_ctx_create()) == NULL) {
		err_set(e, "dns: cannot create a resolver context");
		free(d);
		return NULL;
	}
	if (setup(d->ub, c, e) == -1) {
		dns_close(d);
		return NULL;
	}
	return d;
}

void
dns_close(struct dns_ctx *d)
{
	if (d == NULL)
		return;
	ub_ctx_delete(d->ub);
	free(d);
}

void
dns_answer_free(struct dns_answer *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->rr[i].data);
	a->n = 0;
}

static void
callback(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;

	p->done = 1;
	p->err = err;
	p->res = res;
}

static int fail(struct dns_answer *, enum dns_state, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Drops the records, sets state and reason; returns -1. */
static int
fail(struct dns_answer *a, enum dns_state s, const char *fmt, ...)
{
	va_list ap;

	dns_answer_free(a);
	a->state = s;
	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* Copies the records of r into a, within the bounds of dns.h. */
static int
copy_records(const struct ub_result *r, struct dns_answer *a)
{
	size_t i;

	for (i = 0; r->havedata && r->data[i] != NULL; i++) {
		if (i == DNS_MAX_RR)
			return fail(a, DNS_ERROR, "%s: more than %d records: refused",
			    r->qname, DNS_MAX_RR);
		if (r->len[i] < 0 || r->len[i] > DNS_MAX_RDATA)
			return fail(a, DNS_ERROR, "%s: a record of more than %d bytes: "
			    "refused", r->qname, DNS_MAX_RDATA);
		if ((a->rr[i].data = malloc((size_t)r->len[i] + 1)) == NULL)
			return fail(a, DNS_ERROR, "%s: out of memory", r->qname);
		memcpy(a->rr[i].data, r->data[i], (size_t)r->len[i]);
		a->rr[i].len = (size_t)r->len[i];
		a->n = i + 1;
	}
	return 0;
}

/* Turns libunbound's result into a; 0 if secure, -1 otherwise. */
static int
judge(const struct ub_result *r, struct dns_answer *a)
{
	if (r->bogus)
		return fail(a, DNS_BOGUS, "DNSSEC validation failed (%s)",
		    r->why_bogus ? r->why_bogus : "no reason given");
	/* NOERROR (data or NODATA) and NXDOMAIN are answers; others are not. */
	if (r->rcode != 0 && r->rcode != 3)
		return fail(a, DNS_ERROR, "the resolver answered %s (a validating "
		    "resolver says SERVFAIL for bogus data)", r->rcode == 2 ?
		    "SERVFAIL" : r->rcode == 5 ? "REFUSED" : "an error");
	a->nxdomain = r->nxdomain;
	a->ttl = r->ttl < 0 ? 0 : r->ttl > DNS_MAX_TTL ? DNS_MAX_TTL : (unsigned long)r->ttl;
	if (copy_records(r, a) == -1)
		return -1;
	a->state = r->secure ? DNS_SECURE : DNS_INSECURE;
	return a->state == DNS_SECURE ? 0 : -1;
}

/* Runs libunbound until p is done or the deadline passes.  0 or -1. */
static int
wait_done(struct dns_ctx *d, struct pending *p)
{
	struct pollfd pfd = { ub_fd(d->ub), POLLIN, 0 };
	long long left;
	int rc;

	while (!p->done) {
		if ((left = d->deadline - clock_ms()) <= 0)
			return -1;
		rc = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (rc == -1 && errno != EINTR)
			return -1;
		if (rc > 0 && ub_process(d->ub) != 0)
			return -1;
	}
	return 0;
}

int
dns_resolve(struct dns_ctx *d, const char *name, int rrtype, struct dns_answer *a)
{
	struct pending p = { 0 };
	int id, rc;

	memset(a, 0, sizeof(*a));
	a->state = DNS_ERROR;
	if ((rc = ub_resolve_async(d->ub, name, rrtype, 1, &p, callback, &id)) != 0)
		return fail(a, DNS_ERROR, "cannot ask the resolver: %s", ub_strerror(rc));
	if (wait_done(d, &p) == -1) {
		ub_cancel(d->ub, id);
		/* A result may have arrived since: the callback owns it. */
		if (p.res != NULL)
			ub_resolve_free(p.res);
		snprintf(a->why, sizeof(a->why), "no answer within the %lu s DNS "
		    "deadline (resolver unreachable or too slow)", d->timeout);
		return -1;
	}
	if (p.err != 0) {
		rc = fail(a, DNS_ERROR, "resolver: %s", ub_strerror(p.err));
		ub_resolve_free(p.res);
		return rc;
	}
	rc = judge(p.res, a);
	ub_resolve_free(p.res);
	return rc;
}
