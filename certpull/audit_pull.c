#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_pull.h"
#include "freshness.h"
#include "fsutil.h"
#include "log.h"
#include "pkcs12.h"
#include "pullconf.h"

#define INSTALLED_CAP	(1024 * 1024)
#define ENDPOINT_CONC	16

/* An installed file as the audit saw it. */
struct seen_file {
	const struct service	*s;
	const struct svc_file	*f;
	size_t			 line;		/* index of its line */
	char			 leaf[CERT_FPR_LEN];	/* "" if none */
};

struct pull_audit {
	const struct audit_ctx	*a;
	const struct pullconf	*c;
	struct seen_file	*files;
	size_t			 nfiles;
	struct ep_job		*jobs;
};

struct ep_job {
	const struct service	*s;
	const struct endpoint	*ep;
	struct audit_list	 lines;
};

static int
has_leaf(enum file_format f)
{
	return f == FMT_HAPROXY || f == FMT_KEY_CHAIN || f == FMT_FULLCHAIN ||
	    f == FMT_CERT || f == FMT_PKCS12;
}

/* The private key of item in a key file of service s, or NULL. */
static EVP_PKEY *
sibling_key(const struct service *s, const char *item)
{
	struct buf b = { .secret = 1 };
	EVP_PKEY *key = NULL;
	struct err e;
	size_t i;

	for (i = 0; i < s->nfiles && key == NULL; i++) {
		if (s->files[i].format != FMT_KEY || strcmp(s->files[i].item, item) != 0)
			continue;
		if (file_read(s->files[i].path, INSTALLED_CAP, &b, &e) == 0)
			key = cert_parse_key(b.data, b.len, &e);
		buf_free(&b);
	}
	return key;
}

static void
audit_key_file(struct audit_line *line, const struct svc_file *f, const struct buf *b)
{
	EVP_PKEY *key;
	struct err e;

	if ((key = cert_parse_key(b->data, b->len, &e)) == NULL) {
		audit_problem(line, VERDICT_CRITICAL, "%s", e.msg);
		return;
	}
	cert_key_desc(key, line->key, sizeof(line->key));
	if (f->format == FMT_DKIM && cert_check_dkim_key(key, &e) == -1)
		audit_problem(line, VERDICT_CRITICAL, "%s", e.msg);
	else
		audit_note(line, "%s file", format_name(f->format));
	EVP_PKEY_free(key);
}

static void
audit_cert_file(const struct audit_ctx *a, struct audit_line *line,
    struct seen_file *sf, const struct buf *b)
{
	const struct svc_file *f = sf->f;
	int inline_key = f->format == FMT_HAPROXY || f->format == FMT_KEY_CHAIN ||
	    f->format == FMT_PKCS12;
	STACK_OF(X509) *certs = sk_X509_new_null();
	EVP_PKEY *key = NULL;
	struct err e;
	int others, rc;

	if (certs == NULL) {
		audit_problem(line, VERDICT_UNKNOWN, "out of memory");
		return;
	}
	rc = audit_load_pem(b->data, b->len, certs, inline_key ? &key : NULL, &others, &e);
	if (sk_X509_num(certs) == 0) {
		audit_problem(line, VERDICT_CRITICAL, "%s", rc == -1 ? e.msg :
		    "no certificate in the file");
		goto out;
	}
	audit_cert(a, line, sk_X509_value(certs, 0));
	if (rc == -1)
		audit_problem(line, VERDICT_CRITICAL, "%s", e.msg);
	audit_chain_dates(a, line, certs);
	if (f->format != FMT_CERT)
		audit_chain_complete(a, line, certs);
	if (has_leaf(f->format))
		snprintf(sf->leaf, sizeof(sf->leaf), "%s", line->sha256);
	if (inline_key && key == NULL && rc == 0)
		audit_problem(line, VERDICT_CRITICAL, "no private key in the file");
	if (!inline_key && has_leaf(f->format))
		key = sibling_key(sf->s, f->item);
	if (key != NULL)
		audit_key_match(line, sk_X509_value(certs, 0), key);
	audit_note(line, "%s file", format_name(f->format));
out:
	EVP_PKEY_free(key);
	sk_X509_pop_free(certs, X509_free);
}

static void
audit_installed_file(const struct audit_ctx *a, struct audit_list *l,
    struct seen_file *sf)
{
	struct buf b = { .secret = format_is_secret(sf->f->format) };
	struct buf pem = { .secret = 1 };
	struct audit_line *line;
	struct err e;

	sf->line = l->n;
	line = audit_add(l, AUDIT_INSTALLED, "%s", sf->f->path);
	snprintf(line->item, sizeof(line->item), "%s", sf->f->item);
	if (file_read(sf->f->path, INSTALLED_CAP, &b, &e) == -1)
		audit_problem(line, audit_unreadable(sf->f->path, NULL), "%s", e.msg);
	else if (b.len == 0)
		audit_problem(line, VERDICT_CRITICAL, "empty file");
	else if (sf->f->format == FMT_KEY || sf->f->format == FMT_DKIM)
		audit_key_file(line, sf->f, &b);
	else if (sf->f->format != FMT_PKCS12)
		audit_cert_file(a, line, sf, &b);
	else if (pkcs12_as_pem(sf->f, b.data, b.len, &pem, &e) == -1)
		audit_problem(line, VERDICT_CRITICAL, "%s", e.msg);
	else
		audit_cert_file(a, line, sf, &pem);
	buf_free(&b);
	buf_free(&pem);
}

/* Every file of an item must hold the same leaf: compare with the first. */
static void
check_same_leaf(struct pull_audit *pa, struct audit_list *l)
{
	size_t i, k;

	for (i = 0; i < pa->nfiles && !l->oom; i++) {
		struct seen_file *sf = &pa->files[i];
		struct audit_line *line = &l->v[sf->line];

		if (sf->leaf[0] == '\0')
			continue;
		for (k = 0; k < i; k++)
			if (pa->files[k].leaf[0] != '\0' &&
			    strcmp(pa->files[k].f->item, sf->f->item) == 0)
				break;
		if (k == i)
			continue;
		snprintf(line->expected, sizeof(line->expected), "%s", pa->files[k].leaf);
		line->mismatch = strcmp(pa->files[k].leaf, sf->leaf) != 0;
		if (line->mismatch)
			audit_problem(line, VERDICT_CRITICAL, "holds another certificate than "
			    "%s (item %s)", pa->files[k].f->path, sf->f->item);
	}
}

/* The leaf endpoint ep must serve: its item's, else the service's first. */
static const char *
expected_leaf(const struct pull_audit *pa, const struct service *s,
    const struct endpoint *ep, const char **item)
{
	size_t i;

	*item = ep->item;
	for (i = 0; *item == NULL && i < s->nfiles; i++)
		if (s->files[i].format != FMT_DKIM && s->files[i].format != FMT_KEY)
			*item = s->files[i].item;
	for (i = 0; *item != NULL && i < pa->nfiles; i++)
		if (pa->files[i].leaf[0] != '\0' && strcmp(pa->files[i].f->item, *item) == 0)
			return pa->files[i].leaf;
	return NULL;
}

static void
run_endpoint(void *arg, size_t i)
{
	struct pull_audit *pa = arg;
	struct ep_job *j = &pa->jobs[i];
	const char *item = NULL;
	struct audit_endpoint ae = { j->ep->address, (unsigned)j->ep->port, j->ep->sni,
	    j->ep->starttls, expected_leaf(pa, j->s, j->ep, &item), NULL, 0 };
	struct audit_line *line = audit_add_endpoint(&j->lines, j->s->name, &ae);

	snprintf(line->item, sizeof(line->item), "%s", item ? item : "");
	if (ae.expected == NULL)
		audit_note(line, "no installed certificate to compare with");
	audit_endpoint(pa->a, line, &ae);
}

/*
 * With mirrors, one line for what their timestamps said at the last
 * fetch: stale is a warning (updates may not reach this node), the
 * others a forged, withheld or replayed state of the mirror.
 */
static void
audit_freshness(const struct pullconf *c, struct audit_list *l)
{
	struct audit_line *line;
	struct freshness f;
	enum fresh_verdict v;
	char why[1024];
	struct err e;

	if (c->fetch.nurls == 0)
		return;
	line = audit_add(l, AUDIT_FRESHNESS, "mirrors");
	if (freshness_load(c->state_dir, &f, &e) == -1) {
		audit_problem(line, VERDICT_UNKNOWN, "%s", e.msg);
		return;
	}
	v = freshness_current(&f, time(NULL), why, sizeof(why));
	if (v == FRESH_OK || v == FRESH_UNCHECKED)
		audit_note(line, "%s: %s", freshness_word(v), why);
	else
		audit_problem(line, v == FRESH_STALE ? VERDICT_WARNING : VERDICT_CRITICAL,
		    "%s: %s", freshness_word(v), why);
}

static void
audit_node(const struct audit_ctx *a, const struct pullconf *c, struct audit_list *l)
{
	struct pull_audit pa = { a, c, NULL, 0, NULL };
	size_t i, k, n = 0, nep = 0;

	for (i = 0; i < c->nservices; i++) {
		n += c->services[i].nfiles;
		nep += c->services[i].nendpoints;
	}
	if ((pa.files = calloc(n + 1, sizeof(*pa.files))) == NULL ||
	    (pa.jobs = calloc(nep + 1, sizeof(*pa.jobs))) == NULL) {
		l->oom = 1;
		free(pa.files);
		return;
	}
	for (i = 0; i < c->nservices; i++)
		for (k = 0; k < c->services[i].nfiles; k++) {
			pa.files[pa.nfiles].s = &c->services[i];
			pa.files[pa.nfiles].f = &c->services[i].files[k];
			audit_installed_file(a, l, &pa.files[pa.nfiles++]);
		}
	check_same_leaf(&pa, l);
	for (i = 0, n = 0; i < c->nservices; i++)
		for (k = 0; k < c->services[i].nendpoints; k++) {
			pa.jobs[n].s = &c->services[i];
			pa.jobs[n++].ep = &c->services[i].endpoints[k];
		}
	audit_freshness(c, l);
	audit_parallel(n, ENDPOINT_CONC, run_endpoint, &pa);
	for (i = 0; i < n; i++)
		audit_list_move(l, &pa.jobs[i].lines);
	free(pa.jobs);
	free(pa.files);
}

int
pull_audit(const char *config, int argc, char **argv)
{
	struct audit_opts o;
	struct audit_ctx a;
	struct audit_list l = { 0 };
	struct pullconf c;
	struct err e;
	int rc, loaded = 0;

	if (audit_parse_args("certpull", argc, argv, &o) == -1)
		return VERDICT_UNKNOWN;
	if (o.npaths == 0) {
		if (pullconf_load(config, &c, &e) == 0)
			loaded = 1;
		else {
			log_warnx("%s", e.msg);
			audit_problem(audit_add(&l, AUDIT_CONFIG, "%s", config),
			    VERDICT_UNKNOWN, "%s", e.msg);
		}
	}
	if (audit_ctx_init(&a, "certpull", &o, NULL, &e) == -1) {
		log_warnx("audit: %s", e.msg);
		audit_problem(audit_add(&l, AUDIT_CONFIG, "ca_file"), VERDICT_UNKNOWN,
		    "%s", e.msg);
	}
	if (o.npaths > 0)
		audit_files(&a, &l, o.paths, o.npaths);
	else if (loaded)
		audit_node(&a, &c, &l);
	rc = audit_output(&a, &l);
	if (loaded)
		pullconf_free(&c);
	audit_list_free(&l);
	audit_ctx_free(&a);
	return rc;
}
