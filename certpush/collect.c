#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "cert.h"
#include "collect.h"
#include "source.h"
#include "watch.h"

static char *
lineage_path(const char *dir, const char *file)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, file) == -1 ? NULL : p;
}

/* Reads the chain (cert file, then chain file if any) into pem. */
static int
read_cert_files(const struct cert_source *s, const struct source_guard *g,
    struct buf *pem, struct buf *keypem, struct err *e)
{
	struct source_rules pub = { &s->opts, 0, g }, sec = { &s->opts, 1, g };
	char *cert = s->lineage ? lineage_path(s->lineage, "cert.pem") : strdup(s->cert);
	char *chain = s->lineage ? lineage_path(s->lineage, "chain.pem") :
	    (s->chain ? strdup(s->chain) : NULL);
	char *key = s->lineage ? lineage_path(s->lineage, "privkey.pem") : strdup(s->key);
	int rc = -1;

	if (cert == NULL || key == NULL || (chain == NULL && (s->lineage || s->chain)))
		err_set(e, "out of memory");
	else if (source_read(cert, &pub, pem, e) == 0 &&
	    (chain == NULL || buf_add_u8(pem, '\n') == 0) &&
	    (chain == NULL || source_read(chain, &pub, pem, e) == 0) &&
	    source_read(key, &sec, keypem, e) == 0)
		rc = 0;
	free(cert);
	free(chain);
	free(key);
	return rc;
}

/* Validates a parsed pair; e names the failed check. */
static int
validate_pair(const struct cert_source *s, STACK_OF(X509) *chain, EVP_PKEY *key,
    time_t now, struct err *e)
{
	X509 *leaf = sk_X509_value(chain, 0);
	size_t i;
	int j;

	if (cert_check_pair(leaf, key, e) == -1 || cert_check_order(chain, e) == -1)
		return -1;
	for (j = 0; j < sk_X509_num(chain); j++)
		if (cert_check_time(sk_X509_value(chain, j), now, e) == -1)
			return -1;
	for (i = 0; i < s->nnames; i++)
		if (cert_check_name(leaf, s->names[i], e) == -1)
			return -1;
	return 0;
}

static time_t
chain_expiry(STACK_OF(X509) *chain)
{
	time_t min = 0, t;
	int i;

	for (i = 0; i < sk_X509_num(chain); i++) {
		t = cert_not_after(sk_X509_value(chain, i));
		if (min == 0 || t < min)
			min = t;
	}
	return min;
}

static int
collect_cert(const struct cert_source *s, const struct source_guard *g, time_t now,
    struct collected *col, struct err *e)
{
	struct buf pem = { 0 }, keypem = { .secret = 1 };
	struct buf *chain_out, *key_out;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	struct err why;
	size_t n = col->bundle.nentries;
	int rc = -1;

	if (n + 2 > BUNDLE_MAX_ENTRIES)
		return err_set(e, "%s: too many items for one bundle", s->name);
	chain_out = &col->data[n];
	key_out = &col->data[n + 1];
	if (read_cert_files(s, g, &pem, &keypem, &why) == -1 ||
	    (chain = cert_parse_chain(pem.data, pem.len, &why)) == NULL ||
	    (key = cert_parse_key(keypem.data, keypem.len, &why)) == NULL ||
	    validate_pair(s, chain, key, now, &why) == -1) {
		err_set(e, "certificate %s: %s", s->name, why.msg);
		goto out;
	}
	if (cert_pem_chain(chain, 0, -1, chain_out) == -1 || cert_pem_key(key, key_out) == -1) {
		err_set(e, "certificate %s: cannot re-encode", s->name);
		goto out;
	}
	if (bundle_add_entry(&col->bundle, s->name, KIND_CHAIN, chain_out->data,
	    chain_out->len, e) == -1 || bundle_add_entry(&col->bundle, s->name,
	    KIND_KEY, key_out->data, key_out->len, e) == -1)
		goto out;
	if (col->earliest_expiry == 0 || chain_expiry(chain) < col->earliest_expiry)
		col->earliest_expiry = chain_expiry(chain);
	rc = 0;
out:
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	buf_free(&pem);
	buf_free(&keypem);
	return rc;
}

static int
collect_dkim(const struct dkim_source *s, const struct source_guard *g,
    struct collected *col, struct err *e)
{
	struct source_rules sec = { &s->opts, 1, g };
	struct buf pem = { .secret = 1 };
	struct buf *out = &col->data[col->bundle.nentries];
	EVP_PKEY *key = NULL;
	struct err why;
	int rc = -1;

	if (col->bundle.nentries + 1 > BUNDLE_MAX_ENTRIES)
		return err_set(e, "%s: too many items for one bundle", s->name);
	if (source_read(s->key, &sec, &pem, &why) == -1 ||
	    (key = cert_parse_key(pem.data, pem.len, &why)) == NULL ||
	    cert_check_dkim_key(key, &why) == -1)
		err_set(e, "dkim %s: %s", s->name, why.msg);
	else if (cert_pem_key(key, out) == -1)
		err_set(e, "dkim %s: cannot re-encode", s->name);
	else
		rc = bundle_add_entry(&col->bundle, s->name, KIND_DKIM, out->data,
		    out->len, e);
	EVP_PKEY_free(key);
	buf_free(&pem);
	return rc;
}

int
collect_target(const struct pushconf *c, const struct target *t, time_t now,
    struct collected *col, struct err *e)
{
	struct source_guard *g;
	size_t i;
	int rc = 0;

	memset(col, 0, sizeof(*col));
	if ((g = malloc(sizeof(*g))) == NULL)
		return err_set(e, "out of memory");
	source_guard_init(g, c);
	col->bundle.type = BUNDLE_TYPE_CERTS;
	snprintf(col->bundle.audience, sizeof(col->bundle.audience), "%s", t->name);
	for (i = 0; i < t->nitems; i++) {
		const struct cert_source *cs = pushconf_cert(c, t->items[i]);
		const struct dkim_source *ds = pushconf_dkim(c, t->items[i]);
		if ((rc = cs ? collect_cert(cs, g, now, col, e) :
		    collect_dkim(ds, g, col, e)) == -1)
			break;
	}
	free(g);
	return rc;
}

int
collect_cert_consistent(const struct pushconf *c, const struct cert_source *s,
    struct err *e)
{
	struct buf pem = { 0 }, keypem = { .secret = 1 };
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	struct source_guard *g;
	struct err why;
	int rc = 0;

	if ((g = malloc(sizeof(*g))) == NULL)
		return 0;	/* the push that follows reports it */
	source_guard_init(g, c);
	if (read_cert_files(s, g, &pem, &keypem, &why) == 0 &&
	    ((chain = cert_parse_chain(pem.data, pem.len, &why)) == NULL ||
	    (key = cert_parse_key(keypem.data, keypem.len, &why)) == NULL ||
	    cert_check_pair(sk_X509_value(chain, 0), key, &why) == -1 ||
	    cert_check_order(chain, &why) == -1))
		rc = err_set(e, "certificate %s: %s (renewal in progress?)", s->name,
		    why.msg);
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	buf_free(&pem);
	buf_free(&keypem);
	free(g);
	return rc;
}

/*
 * Checks one source file that exists.  One that is absent, or that the
 * user running check-config may not reach, is not judged here: the push
 * applies the rules when it reads it.
 */
static int
check_one(const char *kind, const char *name, const char *path,
    const struct source_rules *r, struct err *e)
{
	struct stat st;
	struct err why;
	int fd, rc;

	if (path == NULL)
		return 0;
	if ((rc = source_open(path, r, &fd, &st, &why)) == 0)
		close(fd);
	if (rc == 0 || rc == SOURCE_ABSENT || rc == SOURCE_DENIED)
		return 0;
	return err_set(e, "%s %s: %s", kind, name, why.msg);
}

static int
check_cert(const struct cert_source *s, const struct source_guard *g, struct err *e)
{
	struct source_rules pub = { &s->opts, 0, g }, sec = { &s->opts, 1, g };
	char cert[PATH_MAX], chain[PATH_MAX], key[PATH_MAX];

	if (s->lineage == NULL)
		return check_one("certificate", s->name, s->cert, &pub, e) == -1 ||
		    check_one("certificate", s->name, s->chain, &pub, e) == -1 ||
		    check_one("certificate", s->name, s->key, &sec, e) == -1 ? -1 : 0;
	snprintf(cert, sizeof(cert), "%s/cert.pem", s->lineage);
	snprintf(chain, sizeof(chain), "%s/chain.pem", s->lineage);
	snprintf(key, sizeof(key), "%s/privkey.pem", s->lineage);
	return check_one("certificate", s->name, cert, &pub, e) == -1 ||
	    check_one("certificate", s->name, chain, &pub, e) == -1 ||
	    check_one("certificate", s->name, key, &sec, e) == -1 ? -1 : 0;
}

int
collect_check_sources(const struct pushconf *c, struct err *e)
{
	struct source_guard *g;
	struct source_rules sec = { NULL, 1, NULL };
	size_t i;
	int rc = 0;

	if ((g = malloc(sizeof(*g))) == NULL)
		return err_set(e, "out of memory");
	source_guard_init(g, c);
	sec.guard = g;
	for (i = 0; rc == 0 && i < c->ncerts; i++)
		rc = check_cert(&c->certs[i], g, e);
	for (i = 0; rc == 0 && i < c->ndkims; i++) {
		sec.opts = &c->dkims[i].opts;
		rc = check_one("dkim", c->dkims[i].name, c->dkims[i].key, &sec, e);
	}
	free(g);
	return rc;
}

void
collected_free(struct collected *col)
{
	size_t i;

	for (i = 0; i < BUNDLE_MAX_ENTRIES; i++)
		buf_free(&col->data[i]);
	memset(col, 0, sizeof(*col));
}

int
collect_cert_whole(const struct pushconf *c, const struct cert_source *s,
    struct err *e)
{
	struct stat sb;

	if (s->lineage != NULL && stat(s->lineage, &sb) == -1)
		return 0;
	if (s->lineage != NULL && lineage_consistent(s->lineage, e) == -1)
		return -1;
	return collect_cert_consistent(c, s, e);
}

struct err *
collect_sources_whole(const struct pushconf *c)
{
	struct err *w = calloc(c->ncerts + 1, sizeof(*w));
	size_t i;

	for (i = 0; w != NULL && i < c->ncerts; i++)
		if (collect_cert_whole(c, &c->certs[i], &w[i]) == 0)
			w[i].msg[0] = '\0';
	return w;
}
