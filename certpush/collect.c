#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cert.h"
#include "collect.h"
#include "fsutil.h"

#define SOURCE_CAP	(256 * 1024)

/*
 * Reads a source file through its symlinks (certbot's live/ links point
 * into archive/), by resolving them first and reading the real file
 * without following any further link.
 */
static int
read_source(const char *path, struct buf *out, int secret, struct err *e)
{
	char real[PATH_MAX];
	struct stat st;

	if (realpath(path, real) == NULL)
		return err_set(e, "%s: cannot resolve: %m", path);
	if (secret) {
		out->secret = 1;
		if (stat(real, &st) == 0 && (st.st_mode & 007) != 0)
			return err_set(e, "%s: private key is readable by others "
			    "(mode %04o): refusing it", path, (unsigned)(st.st_mode & 07777));
	}
	return file_read(real, SOURCE_CAP, out, e);
}

static char *
lineage_path(const char *dir, const char *file)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, file) == -1 ? NULL : p;
}

/* Reads the chain (cert file, then chain file if any) into pem. */
static int
read_cert_files(const struct cert_source *s, struct buf *pem, struct buf *keypem,
    struct err *e)
{
	char *cert = s->lineage ? lineage_path(s->lineage, "cert.pem") : strdup(s->cert);
	char *chain = s->lineage ? lineage_path(s->lineage, "chain.pem") :
	    (s->chain ? strdup(s->chain) : NULL);
	char *key = s->lineage ? lineage_path(s->lineage, "privkey.pem") : strdup(s->key);
	int rc = -1;

	if (cert == NULL || key == NULL || (chain == NULL && (s->lineage || s->chain)))
		err_set(e, "out of memory");
	else if (read_source(cert, pem, 0, e) == 0 &&
	    (chain == NULL || buf_add_u8(pem, '\n') == 0) &&
	    (chain == NULL || read_source(chain, pem, 0, e) == 0) &&
	    read_source(key, keypem, 1, e) == 0)
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
collect_cert(const struct cert_source *s, time_t now, struct collected *col,
    struct err *e)
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
	if (read_cert_files(s, &pem, &keypem, &why) == -1 ||
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
collect_dkim(const struct dkim_source *s, struct collected *col, struct err *e)
{
	struct buf pem = { .secret = 1 };
	struct buf *out = &col->data[col->bundle.nentries];
	EVP_PKEY *key = NULL;
	struct err why;
	int rc = -1;

	if (col->bundle.nentries + 1 > BUNDLE_MAX_ENTRIES)
		return err_set(e, "%s: too many items for one bundle", s->name);
	if (read_source(s->key, &pem, 1, &why) == -1 ||
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
	size_t i;

	memset(col, 0, sizeof(*col));
	col->bundle.type = BUNDLE_TYPE_CERTS;
	snprintf(col->bundle.audience, sizeof(col->bundle.audience), "%s", t->name);
	for (i = 0; i < t->nitems; i++) {
		const struct cert_source *cs = pushconf_cert(c, t->items[i]);
		const struct dkim_source *ds = pushconf_dkim(c, t->items[i]);
		int rc = cs ? collect_cert(cs, now, col, e) : collect_dkim(ds, col, e);

		if (rc == -1)
			return -1;
	}
	return 0;
}

void
collected_free(struct collected *col)
{
	size_t i;

	for (i = 0; i < BUNDLE_MAX_ENTRIES; i++)
		buf_free(&col->data[i]);
	memset(col, 0, sizeof(*col));
}
