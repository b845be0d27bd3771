#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "haproxy.h"
#include "reload.h"
#include "run.h"
#include "tlsprobe.h"

#define PROBE_TIMEOUT_MS	3000
#define PROBE_INTERVAL_MS	200

int
service_check(const struct service *s, struct err *e)
{
	struct err why;

	if (s->check == NULL)
		return 0;
	if (run_argv(s->check, (unsigned)s->timeout, NULL, &why) == -1)
		return err_set(e, "%s: configuration check failed: %s", s->name, why.msg);
	return 0;
}

/* Sends every changed haproxy-format file of s through the runtime API. */
static int
reload_api(const struct service *s, const struct txn *t, int old, struct err *e)
{
	size_t i;
	int sent = 0;

	for (i = 0; i < t->nfiles; i++) {
		const struct txn_file *tf = &t->files[i];
		const struct buf *content = old ? &tf->old : &tf->new;

		if (tf->svc != s || !tf->changed || tf->f->format != FMT_HAPROXY)
			continue;
		if (old && !tf->existed)
			continue;
		if (haproxy_set_cert(s->haproxy_socket, tf->f->path, content->data,
		    content->len, (unsigned)s->timeout, e) == -1)
			return -1;
		sent++;
	}
	return sent > 0 ? 0 : err_set(e, "no HAProxy certificate to send");
}

int
service_reload(const struct service *s, const struct txn *t, int old,
    const char **how, struct err *e)
{
	struct err api, why;

	api.msg[0] = '\0';
	if (s->haproxy_socket != NULL) {
		if (reload_api(s, t, old, &api) == 0) {
			*how = "runtime API";
			return 0;
		}
	}
	if (s->reload == NULL) {
		*how = "none";
		if (s->haproxy_socket != NULL)
			return err_set(e, "%s: %s (and no reload command)", s->name, api.msg);
		return 0;
	}
	*how = "reload command";
	if (run_argv(s->reload, (unsigned)s->timeout, NULL, &why) == -1)
		return err_set(e, "%s: reload failed: %s%s%s", s->name, why.msg,
		    api.msg[0] ? "; runtime API: " : "", api.msg);
	return 0;
}

int
endpoint_wait(const struct endpoint *ep, const char *want, unsigned grace_s,
    struct served *out, struct err *e)
{
	long long deadline = clock_ms() + (long long)grace_s * 1000;
	struct probe p;
	struct err why;
	int tries;

	snprintf(out->endpoint, sizeof(out->endpoint), "%s:%lu%s%s", ep->address,
	    ep->port, ep->starttls != TLS_NONE ? "/" : "", ep->starttls != TLS_NONE ?
	    starttls_name(ep->starttls) : "");
	out->fingerprint[0] = '\0';
	out->ok = 0;
	/* Bounded by the grace period and by a count, whichever ends first. */
	for (tries = 0; tries < 10000; tries++) {
		if (tls_probe(ep->address, (unsigned)ep->port, ep->sni, ep->starttls,
		    PROBE_TIMEOUT_MS, &p, &why) == 0) {
			cert_fingerprint(p.leaf, out->fingerprint);
			probe_free(&p);
			if (strcmp(out->fingerprint, want) == 0) {
				out->ok = 1;
				return 0;
			}
			snprintf(why.msg, sizeof(why.msg), "serves %s, expected %s",
			    out->fingerprint, want);
		}
		if (clock_ms() + PROBE_INTERVAL_MS > deadline)
			break;
		usleep(PROBE_INTERVAL_MS * 1000);
	}
	return err_set(e, "endpoint %s: %s", out->endpoint, why.msg);
}
