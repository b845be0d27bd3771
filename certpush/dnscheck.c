#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "collect.h"
#include "dane.h"
#include "dnscheck.h"
#include "log.h"
#include "source.h"

void
dane_qname(const struct dane_name *d, char *out, size_t size)
{
	size_t hl = strlen(d->host);

	if (hl > 0 && d->host[hl - 1] == '.')
		hl--;
	snprintf(out, size, "_%lu._tcp.%.*s.", d->port, (int)hl, d->host);
}

void
dkim_qname(const struct dkim_source *s, char *out, size_t size)
{
	snprintf(out, size, "%s._domainkey.%s.", s->selector, s->domain);
}

const struct dns_lookup *
dnscheck_find(const struct dnscheck *dc, const char *qname, int type)
{
	size_t i;

	for (i = 0; i < dc->n; i++)
		if (dc->l[i].type == type && strcasecmp(dc->l[i].qname, qname) == 0)
			return &dc->l[i];
	return NULL;
}

unsigned long
dnscheck_ttl(const struct dnscheck *dc, const char *qname, int type)
{
	const struct dns_lookup *l = dnscheck_find(dc, qname, type);

	return l != NULL ? l->a.ttl : 0;
}

/* Adds qname/type to the list unless it is there.  0 or -1. */
static int
want(struct dnscheck *dc, size_t cap, const char *qname, int type)
{
	if (dnscheck_find(dc, qname, type) != NULL)
		return 0;
	if (dc->n == cap)
		return -1;
	snprintf(dc->l[dc->n].qname, sizeof(dc->l[dc->n].qname), "%s", qname);
	dc->l[dc->n].type = type;
	dc->l[dc->n].a.state = DNS_ERROR;
	snprintf(dc->l[dc->n].a.why, sizeof(dc->l[dc->n].a.why), "not looked up");
	dc->n++;
	return 0;
}

/* The RRsets to look up, or -1 (out of memory). */
static int
plan(const struct pushconf *c, struct dnscheck *dc)
{
	size_t cap = c->ndkims, i, j;
	char q[300];

	for (i = 0; i < c->ncerts; i++)
		cap += c->certs[i].ndane;
	if (cap == 0)
		return 0;
	if ((dc->l = calloc(cap, sizeof(*dc->l))) == NULL)
		return -1;
	for (i = 0; i < c->ncerts; i++)
		for (j = 0; j < c->certs[i].ndane; j++) {
			dane_qname(&c->certs[i].dane[j], q, sizeof(q));
			want(dc, cap, q, DNS_TYPE_TLSA);
		}
	for (i = 0; c->dkim_checks && i < c->ndkims; i++) {
		dkim_qname(&c->dkims[i], q, sizeof(q));
		want(dc, cap, q, DNS_TYPE_TXT);
	}
	return 0;
}

void
dnscheck_run(const struct pushconf *c, struct dnscheck *dc)
{
	struct dns_ctx *d;
	struct err e;
	size_t i;

	memset(dc, 0, sizeof(*dc));
	if (plan(c, dc) == -1) {
		snprintf(dc->why, sizeof(dc->why), "out of memory");
		return;
	}
	if (dc->n == 0)
		return;
	if ((d = dns_open(&c->dns, &e)) == NULL) {
		snprintf(dc->why, sizeof(dc->why), "%s", e.msg);
		for (i = 0; i < dc->n; i++)
			snprintf(dc->l[i].a.why, sizeof(dc->l[i].a.why), "%s", e.msg);
		return;
	}
	dc->opened = 1;
	for (i = 0; i < dc->n; i++) {
		dns_resolve(d, dc->l[i].qname, dc->l[i].type, &dc->l[i].a);
		log_debug("dns: %s %s: %s%s%s (%zu records)", dc->l[i].qname,
		    dc->l[i].type == DNS_TYPE_TLSA ? "TLSA" : "TXT",
		    dns_state_name(dc->l[i].a.state), dc->l[i].a.why[0] ? ": " : "",
		    dc->l[i].a.why, dc->l[i].a.n);
	}
	dns_close(d);
}

void
dnscheck_free(struct dnscheck *dc)
{
	size_t i;

	for (i = 0; i < dc->n; i++)
		dns_answer_free(&dc->l[i].a);
	free(dc->l);
	memset(dc, 0, sizeof(*dc));
}

/*
 * The answer for qname if it is secure, else NULL with why saying what
 * DNS gave instead: a key change is held on anything but a validated
 * answer.
 */
static const struct dns_answer *
secure_answer(const struct dnscheck *dc, const char *qname, int type, char *why,
    size_t size)
{
	const struct dns_lookup *l = dnscheck_find(dc, qname, type);

	if (l == NULL)
		snprintf(why, size, "%s was not looked up", qname);
	else if (l->a.state == DNS_INSECURE)
		snprintf(why, size, "%s: DNS answer insecure (the zone is not "
		    "DNSSEC-signed, or the trust anchor does not cover it)", qname);
	else if (l->a.state != DNS_SECURE)
		snprintf(why, size, "%s: DNS %s: %s", qname, dns_state_name(l->a.state),
		    l->a.why);
	else
		return &l->a;
	return NULL;
}

/* Whether usage/selector/type of t is one d accepts. */
static int
accepted(const struct dane_name *d, const struct tlsa *t)
{
	size_t i;

	for (i = 0; i < d->nusages; i++)
		if (d->usages[i][0] == t->usage && d->usages[i][1] == t->selector &&
		    d->usages[i][2] == t->mtype)
			return 1;
	return 0;
}

int
dane_published(const struct dnscheck *dc, const struct dane_name *d,
    STACK_OF(X509) *chain, char *why, size_t size)
{
	const struct dns_answer *a;
	char q[300], rec[DANE_RECORD_MAX];
	struct tlsa t;
	struct err e;
	size_t i;

	dane_qname(d, q, sizeof(q));
	if ((a = secure_answer(dc, q, DNS_TYPE_TLSA, why, size)) == NULL)
		return 0;
	for (i = 0; i < a->n; i++)
		if (tlsa_parse(a->rr[i].data, a->rr[i].len, &t, &e) == 0 &&
		    accepted(d, &t) && tlsa_match_chain(&t, chain))
			return 1;
	if (tlsa_record_text(d->host, d->port, d->usages[0], chain, NULL, rec,
	    sizeof(rec)) == -1)
		snprintf(rec, sizeof(rec), "(cannot compute the record)");
	snprintf(why, size, "no published TLSA record matches the key: publish %s",
	    rec);
	return 0;
}

int
dkim_published(const struct dnscheck *dc, const struct dkim_source *s, EVP_PKEY *key,
    char *why, size_t size)
{
	const struct dns_answer *a;
	char q[300], *rec;
	EVP_PKEY *pub;
	struct err e;
	size_t i;
	int ok = 0;

	dkim_qname(s, q, sizeof(q));
	if ((a = secure_answer(dc, q, DNS_TYPE_TXT, why, size)) == NULL)
		return 0;
	for (i = 0; !ok && i < a->n; i++) {
		pub = dkim_txt_key(a->rr[i].data, a->rr[i].len, &e);
		ok = dane_same_key(pub, key);
		EVP_PKEY_free(pub);
	}
	if (ok)
		return 1;
	rec = dkim_record_text(s->selector, s->domain, key);
	snprintf(why, size, "%s: %s: publish %s", q, a->n == 0 ? "no TXT record" :
	    "no TXT record's p= is this key", rec ? rec : "(cannot compute the record)");
	free(rec);
	return 0;
}

STACK_OF(X509) *
dnscheck_current_chain(const struct pushconf *c, const char *item, struct err *e)
{
	char *items[1] = { (char *)item };
	struct target t = { .name = (char *)"tlsa", .items = items, .nitems = 1 };
	struct collected *col = malloc(sizeof(*col));
	STACK_OF(X509) *chain = NULL;

	if (col == NULL) {
		err_set(e, "out of memory");
		return NULL;
	}
	if (collect_target(c, &t, time(NULL), col, e) == 0)
		chain = cert_parse_chain(col->bundle.entries[0].data,
		    col->bundle.entries[0].len, e);
	collected_free(col);
	free(col);
	return chain;
}

EVP_PKEY *
dnscheck_read_key(const char *path, const struct source_opts *o,
    const struct pushconf *c, struct err *e)
{
	struct source_guard *g = malloc(sizeof(*g));
	struct source_rules r = { o, 1, g };
	struct buf pem = { .secret = 1 };
	EVP_PKEY *key = NULL;

	if (g == NULL) {
		err_set(e, "out of memory");
		return NULL;
	}
	source_guard_init(g, c);
	if (source_read(path, &r, &pem, e) == 0)
		key = cert_parse_key(pem.data, pem.len, e);
	buf_free(&pem);
	free(g);
	return key;
}

/* "published (secure)" or what is wrong, for a record of the tlsa listing. */
static const char *
record_state(const struct dnscheck *dc, const char *qname, const uint8_t u[3],
    STACK_OF(X509) *chain, EVP_PKEY *key, char *buf, size_t size)
{
	const struct dns_answer *a = secure_answer(dc, qname, DNS_TYPE_TLSA, buf, size);
	struct tlsa t;
	struct err e;
	size_t i;

	if (a == NULL)
		return buf;
	for (i = 0; i < a->n; i++)
		if (tlsa_parse(a->rr[i].data, a->rr[i].len, &t, &e) == 0 &&
		    t.usage == u[0] && t.selector == u[1] && t.mtype == u[2] &&
		    (chain ? tlsa_match_chain(&t, chain) : tlsa_match_key(&t, key)))
			return "published (secure)";
	return "NOT PUBLISHED";
}

/*
 * The records of one certificate; returns the number of its dane: names
 * where no record of an accepted form matches the current chain.
 */
static int
tlsa_cert(const struct pushconf *c, const struct cert_source *s,
    const struct dnscheck *dc)
{
	STACK_OF(X509) *chain;
	EVP_PKEY *next = NULL;
	char rec[DANE_RECORD_MAX], q[300], st[1200];
	struct err e;
	size_t i, k;
	int missing = 0;

	if ((chain = dnscheck_current_chain(c, s->name, &e)) == NULL) {
		log_warnx("tlsa: %s", e.msg);
		return 1;
	}
	if (s->next_key != NULL && (next = dnscheck_read_key(s->next_key, &s->opts, c, &e)) == NULL)
		log_warnx("tlsa: certificate %s: next_key: %s", s->name, e.msg);
	for (i = 0; i < s->ndane; i++) {
		dane_qname(&s->dane[i], q, sizeof(q));
		/* One published record of an accepted form is enough. */
		if (!dane_published(dc, &s->dane[i], chain, st, sizeof(st)))
			missing++;
		for (k = 0; k < s->dane[i].nusages; k++) {
			const uint8_t *u = s->dane[i].usages[k];
			const char *state;

			if (tlsa_record_text(s->dane[i].host, s->dane[i].port, u, chain, NULL,
			    rec, sizeof(rec)) == -1) {
				log_warnx("tlsa: certificate %s: no %u %u %u record (usage "
				    "2 needs an issuer in the chain)", s->name, u[0], u[1], u[2]);
				continue;
			}
			state = record_state(dc, q, u, chain, NULL, st, sizeof(st));
			printf("%s ; %s current: %s\n", rec, s->name, state);
			if (next == NULL || u[0] != 3 || u[1] != 1 || tlsa_record_text(
			    s->dane[i].host, s->dane[i].port, u, NULL, next, rec,
			    sizeof(rec)) == -1)
				continue;
			printf("%s ; %s next: %s\n", rec, s->name,
			    record_state(dc, q, u, NULL, next, st, sizeof(st)));
		}
	}
	EVP_PKEY_free(next);
	sk_X509_pop_free(chain, X509_free);
	return missing;
}

/* The TXT record of one DKIM key; 1 if it is not published, else 0. */
static int
tlsa_dkim(const struct pushconf *c, const struct dkim_source *s,
    const struct dnscheck *dc)
{
	EVP_PKEY *key;
	char why[1200], *rec;
	struct err e;
	int ok;

	if ((key = dnscheck_read_key(s->key, &s->opts, c, &e)) == NULL) {
		log_warnx("tlsa: dkim %s: %s", s->name, e.msg);
		return 1;
	}
	rec = dkim_record_text(s->selector, s->domain, key);
	ok = dkim_published(dc, s, key, why, sizeof(why));
	printf("%s ; %s current: %s\n", rec ? rec : "(cannot compute the record)",
	    s->name, ok ? "published (secure)" : why);
	free(rec);
	EVP_PKEY_free(key);
	return !ok;
}

int
dnscheck_tlsa_cmd(const struct pushconf *c)
{
	struct dnscheck dc;
	size_t i;
	int missing = 0, any = 0;

	dnscheck_run(c, &dc);
	for (i = 0; i < c->ncerts; i++)
		if (c->certs[i].ndane > 0) {
			any = 1;
			missing += tlsa_cert(c, &c->certs[i], &dc);
		}
	for (i = 0; c->dkim_checks && i < c->ndkims; i++) {
		any = 1;
		missing += tlsa_dkim(c, &c->dkims[i], &dc);
	}
	if (!any)
		printf("%s: no certificate has dane: and there is no dns: section: "
		    "no record to publish\n", c->file);
	fflush(stdout);
	dnscheck_free(&dc);
	return missing ? 1 : 0;
}
