#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "audit_dane.h"
#include "dane.h"
#include "danehold.h"
#include "dnscheck.h"
#include "tlsprobe.h"

#define SERVED_MAX	(PUSH_MAX_TARGETS * 2)

/* The chains the endpoints with dane: serve, for the stale-record check. */
struct served {
	const struct cert_source *s[SERVED_MAX];
	STACK_OF(X509)		 *chain[SERVED_MAX];
	size_t			  n;
};

/* The item an endpoint serves: its own, or the target's first certificate. */
static const struct cert_source *
endpoint_cert(const struct pushconf *c, const struct target *t,
    const struct target_endpoint *ep)
{
	size_t i;

	if (ep->item != NULL)
		return pushconf_cert(c, ep->item);
	for (i = 0; i < t->nitems; i++)
		if (pushconf_cert(c, t->items[i]) != NULL)
			return pushconf_cert(c, t->items[i]);
	return NULL;
}

/* Raises l for a TLSA RRset that is not secure; 1 if it was secure. */
static int
judge_dns(struct audit_line *l, const struct dns_lookup *lk)
{
	if (lk == NULL) {
		audit_problem(l, VERDICT_UNKNOWN, "not looked up");
		return 0;
	}
	switch (lk->a.state) {
	case DNS_SECURE:
		return 1;
	case DNS_INSECURE:
		audit_problem(l, VERDICT_WARNING, "DNSSEC insecure: the zone is not "
		    "signed (or not under the trust anchor), DANE is not in effect");
		return 0;
	case DNS_BOGUS:
		audit_problem(l, VERDICT_CRITICAL, "DNSSEC bogus: %s", lk->a.why);
		return 0;
	default:
		audit_problem(l, VERDICT_UNKNOWN, "DNS: %s", lk->a.why);
		return 0;
	}
}

/* One endpoint line per dane: name of s on the endpoint's port. */
static void
endpoint_lines(const struct audit_ctx *a, const struct dnscheck *dc,
    struct audit_list *l, const struct target *t, const struct target_endpoint *ep,
    const struct cert_source *s, struct served *sv)
{
	struct probe p = { 0 };
	struct audit_line *line;
	char q[300], why[1200];
	struct err e;
	size_t i;
	int probed = -1;

	for (i = 0; i < s->ndane; i++) {
		if (s->dane[i].port != ep->port)
			continue;
		if (probed == -1 && (probed = tls_probe(ep->address, (unsigned)ep->port,
		    ep->sni, ep->starttls, a->o.timeout_s * 1000, &p, &e) == 0) == 0)
			ERR_clear_error();
		dane_qname(&s->dane[i], q, sizeof(q));
		line = audit_add(l, AUDIT_DANE, "%s/%s:%lu %s", t->name, ep->address,
		    ep->port, q);
		snprintf(line->item, sizeof(line->item), "%s", s->name);
		snprintf(line->names, sizeof(line->names), "%s", q);
		if (!probed) {
			line->reachable = 0;
			audit_problem(line, VERDICT_UNKNOWN, "not probed: %s", e.msg);
			continue;
		}
		line->reachable = 1;
		cert_fingerprint(p.leaf, line->sha256);
		if (!judge_dns(line, dnscheck_find(dc, q, DNS_TYPE_TLSA)))
			continue;
		if (dane_published(dc, &s->dane[i], p.chain, why, sizeof(why)))
			audit_note(line, "the served key matches a secure TLSA record");
		else
			audit_problem(line, VERDICT_CRITICAL, "the served key matches no "
			    "TLSA record: DANE senders refuse it; %s", why);
	}
	if (probed == 1 && sv->n < SERVED_MAX) {
		sv->s[sv->n] = s;
		sv->chain[sv->n++] = p.chain;
		p.chain = NULL;
	}
	if (probed == 1)
		probe_free(&p);
}

/* Whether t matches a key of s in use: current, next, or served. */
static int
in_use(const struct pushconf *c, const struct cert_source *s, const struct served *sv,
    const struct tlsa *t)
{
	STACK_OF(X509) *cur;
	EVP_PKEY *next;
	struct err e;
	size_t i;
	int hit = 0;

	if ((cur = dnscheck_current_chain(c, s->name, &e)) != NULL)
		hit = tlsa_match_chain(t, cur);
	sk_X509_pop_free(cur, X509_free);
	if (!hit && s->next_key != NULL &&
	    (next = dnscheck_read_key(s->next_key, &s->opts, c, &e)) != NULL) {
		hit = tlsa_match_key(t, next);
		EVP_PKEY_free(next);
	}
	for (i = 0; !hit && i < sv->n; i++)
		hit = sv->s[i] == s && tlsa_match_chain(t, sv->chain[i]);
	return hit;
}

/* The RRset line of qname: DNSSEC state and the stale records. */
static void
rrset_line(const struct pushconf *c, const struct dns_lookup *lk, struct audit_list *l,
    const struct served *sv)
{
	struct audit_line *line = audit_add(l, AUDIT_DANE, "%s", lk->qname);
	char q[300];
	struct tlsa t;
	struct err e;
	size_t i, k, n, stale = 0;
	int hit;

	snprintf(line->names, sizeof(line->names), "%s", lk->qname);
	if (!judge_dns(line, lk))
		return;
	for (i = 0; i < lk->a.n; i++) {
		if (tlsa_parse(lk->a.rr[i].data, lk->a.rr[i].len, &t, &e) == -1) {
			audit_problem(line, VERDICT_WARNING, "unusable record: %s", e.msg);
			continue;
		}
		for (k = 0, hit = 0; !hit && k < c->ncerts; k++)
			for (n = 0; !hit && n < c->certs[k].ndane; n++) {
				dane_qname(&c->certs[k].dane[n], q, sizeof(q));
				hit = strcasecmp(q, lk->qname) == 0 &&
				    in_use(c, &c->certs[k], sv, &t);
			}
		if (hit)
			continue;
		stale++;
		audit_problem(line, VERDICT_WARNING, "stale record %u %u %u %02x%02x%02x%02x...: "
		    "matches no current, next or served key, remove it", t.usage, t.selector,
		    t.mtype, t.len > 0 ? t.data[0] : 0, t.len > 1 ? t.data[1] : 0,
		    t.len > 2 ? t.data[2] : 0, t.len > 3 ? t.data[3] : 0);
	}
	if (stale == 0)
		audit_note(line, "secure, %zu record%s, none stale", lk->a.n,
		    lk->a.n == 1 ? "" : "s");
}

/* Whether some target holds item (the key in DNS is the one in service). */
static int
held_anywhere(const struct pushconf *c, const char *item)
{
	struct holds h;
	struct err e;
	size_t i, k;

	for (i = 0; i < c->ntargets; i++)
		if (holds_load(c->state_dir, c->targets[i].name, &h, &e) == 0)
			for (k = 0; k < h.n; k++)
				if (strcmp(h.h[k].item, item) == 0)
					return 1;
	return 0;
}

static void
dkim_line(const struct pushconf *c, const struct dnscheck *dc,
    const struct dkim_source *s, struct audit_list *l)
{
	struct audit_line *line;
	char q[300], why[1200];
	EVP_PKEY *key;
	struct err e;

	dkim_qname(s, q, sizeof(q));
	line = audit_add(l, AUDIT_DANE, "%s", q);
	snprintf(line->item, sizeof(line->item), "%s", s->name);
	snprintf(line->names, sizeof(line->names), "%s", q);
	if ((key = dnscheck_read_key(s->key, &s->opts, c, &e)) == NULL) {
		audit_problem(line, VERDICT_UNKNOWN, "key not read: %s", e.msg);
		return;
	}
	if (!judge_dns(line, dnscheck_find(dc, q, DNS_TYPE_TXT)))
		;
	else if (dkim_published(dc, s, key, why, sizeof(why)))
		audit_note(line, "the TXT record's p= is the key");
	else if (held_anywhere(c, s->name))
		audit_problem(line, VERDICT_WARNING, "the new key is held until "
		    "published: %s", why);
	else
		audit_problem(line, VERDICT_CRITICAL, "receivers fail its signatures: %s",
		    why);
	EVP_PKEY_free(key);
}

/* Adds the holds of each target to its target line. */
static void
hold_problems(const struct pushconf *c, struct audit_list *l, time_t now)
{
	struct holds h;
	struct err e;
	char since[32];
	struct tm tm;
	size_t i, k, n;

	for (i = 0; i < c->ntargets; i++) {
		if (holds_load(c->state_dir, c->targets[i].name, &h, &e) == -1 || h.n == 0)
			continue;
		for (n = 0; n < l->n; n++)
			if (l->v[n].kind == AUDIT_TARGET &&
			    strcmp(l->v[n].where, c->targets[i].name) == 0)
				break;
		if (n == l->n)
			continue;
		for (k = 0; k < h.n; k++) {
			strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ",
			    gmtime_r(&h.h[k].since, &tm));
			audit_problem(&l->v[n], VERDICT_WARNING, "%s held for %lld s (since "
			    "%s): %s", h.h[k].item, (long long)(now - h.h[k].since), since,
			    h.h[k].reason);
		}
	}
}

void
audit_dane(const struct audit_ctx *a, const struct pushconf *c, struct audit_list *l)
{
	struct served *sv;
	struct dnscheck dc;
	const struct cert_source *s;
	size_t i, k;

	hold_problems(c, l, a->now);
	if (!c->dns_checks)
		return;
	if ((sv = calloc(1, sizeof(*sv))) == NULL) {
		l->oom = 1;
		return;
	}
	dnscheck_run(c, &dc);
	for (i = 0; i < c->ntargets; i++)
		for (k = 0; k < c->targets[i].nendpoints; k++)
			if ((s = endpoint_cert(c, &c->targets[i], &c->targets[i].endpoints[k])) !=
			    NULL && s->ndane > 0)
				endpoint_lines(a, &dc, l, &c->targets[i],
				    &c->targets[i].endpoints[k], s, sv);
	for (i = 0; i < dc.n; i++)
		if (dc.l[i].type == DNS_TYPE_TLSA)
			rrset_line(c, &dc.l[i], l, sv);
	for (i = 0; c->dkim_checks && i < c->ndkims; i++)
		dkim_line(c, &dc, &c->dkims[i], l);
	for (i = 0; i < sv->n; i++)
		sk_X509_pop_free(sv->chain[i], X509_free);
	free(sv);
	dnscheck_free(&dc);
}
