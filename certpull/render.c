#include <string.h>

#include "pkcs12.h"
#include "render.h"

static const struct bundle_entry *
entry_of(const struct bundle *b, const char *item, uint8_t kind)
{
	size_t i;

	for (i = 0; i < b->nentries; i++)
		if (b->entries[i].kind == kind && strcmp(b->entries[i].item, item) == 0)
			return &b->entries[i];
	return NULL;
}

/*
 * The parsed chain or key of entry en: the one the content checks kept in
 * p (borrowed), or else parsed now into *own, which the caller frees.
 */
static STACK_OF(X509) *
chain_of(const struct bundle *b, const struct bundle_parsed *p,
    const struct bundle_entry *en, STACK_OF(X509) **own, struct err *e)
{
	if (p != NULL && p->chain[en - b->entries] != NULL)
		return p->chain[en - b->entries];
	return *own = cert_parse_chain(en->data, en->len, e);
}

static EVP_PKEY *
key_of(const struct bundle *b, const struct bundle_parsed *p,
    const struct bundle_entry *en, EVP_PKEY **own, struct err *e)
{
	if (p != NULL && p->key[en - b->entries] != NULL)
		return p->key[en - b->entries];
	return *own = cert_parse_key(en->data, en->len, e);
}

static int
render_dkim(const struct bundle *b, const struct bundle_parsed *p,
    const struct svc_file *f, struct buf *out, struct err *e)
{
	const struct bundle_entry *en = entry_of(b, f->item, KIND_DKIM);
	EVP_PKEY *key, *own = NULL;
	int rc;

	if (en == NULL)
		return err_set(e, "%s: the bundle has no DKIM key \"%s\"", f->path, f->item);
	if ((key = key_of(b, p, en, &own, e)) == NULL)
		return -1;
	rc = cert_pem_key(key, out);
	EVP_PKEY_free(own);
	return rc == -1 ? err_set(e, "%s: cannot encode the key", f->path) : 0;
}

/* Appends the parts of a certificate item in the order the format wants. */
static int
layout(enum file_format fmt, STACK_OF(X509) *chain, EVP_PKEY *key, struct buf *out)
{
	switch (fmt) {
	case FMT_HAPROXY:
		return cert_pem_chain(chain, 0, -1, out) == -1 ? -1 : cert_pem_key(key, out);
	case FMT_KEY_CHAIN:
		return cert_pem_key(key, out) == -1 ? -1 : cert_pem_chain(chain, 0, -1, out);
	case FMT_FULLCHAIN:
		return cert_pem_chain(chain, 0, -1, out);
	case FMT_CERT:
		return cert_pem_chain(chain, 0, 1, out);
	case FMT_CHAIN:
		return sk_X509_num(chain) < 2 ? -1 : cert_pem_chain(chain, 1, -1, out);
	case FMT_KEY:
		return cert_pem_key(key, out);
	case FMT_DKIM:
	case FMT_PKCS12:	/* binary: see render_file */
		break;
	}
	return -1;
}

int
render_file(const struct bundle *b, const struct bundle_parsed *p,
    const struct svc_file *f, struct buf *out, char fpr[CERT_FPR_LEN],
    struct err *e)
{
	const struct bundle_entry *ce, *ke;
	STACK_OF(X509) *chain, *own_chain = NULL;
	EVP_PKEY *key, *own_key = NULL;
	int rc = -1;

	fpr[0] = '\0';
	if (format_is_secret(f->format))
		out->secret = 1;
	if (f->format == FMT_DKIM)
		return render_dkim(b, p, f, out, e);
	ce = entry_of(b, f->item, KIND_CHAIN);
	ke = entry_of(b, f->item, KIND_KEY);
	if (ce == NULL || ke == NULL)
		return err_set(e, "%s: the bundle has no certificate \"%s\"", f->path,
		    f->item);
	if ((chain = chain_of(b, p, ce, &own_chain, e)) == NULL ||
	    (key = key_of(b, p, ke, &own_key, e)) == NULL)
		goto out;
	if (f->format == FMT_PKCS12) {
		if (pkcs12_render(f, chain, key, out, e) == -1)
			goto out;
	} else if (layout(f->format, chain, key, out) == -1) {
		err_set(e, "%s: cannot render format %s%s", f->path, format_name(f->format),
		    f->format == FMT_CHAIN ? " (the certificate has no intermediates)" : "");
		goto out;
	}
	cert_fingerprint(sk_X509_value(chain, 0), fpr);
	rc = 0;
out:
	EVP_PKEY_free(own_key);
	sk_X509_pop_free(own_chain, X509_free);
	return rc;
}

int
render_leaf_fpr(const struct bundle *b, const struct bundle_parsed *p,
    const char *item, char fpr[CERT_FPR_LEN])
{
	const struct bundle_entry *ce = entry_of(b, item, KIND_CHAIN);
	STACK_OF(X509) *chain, *own = NULL;

	fpr[0] = '\0';
	if (ce == NULL || (chain = chain_of(b, p, ce, &own, NULL)) == NULL)
		return -1;
	cert_fingerprint(sk_X509_value(chain, 0), fpr);
	sk_X509_pop_free(own, X509_free);
	return 0;
}

X509 *
render_leaf_of(const struct svc_file *f, const struct buf *content)
{
	struct buf pem = { .secret = 1 };
	struct err e;
	X509 *x;

	if (f->format != FMT_PKCS12)
		return cert_first_in_pem(content->data, content->len);
	x = pkcs12_as_pem(f, content->data, content->len, &pem, &e) == 0 ?
	    cert_first_in_pem(pem.data, pem.len) : NULL;
	buf_free(&pem);
	return x;
}

int
render_same_content(const struct svc_file *f, const struct buf *a, const struct buf *b)
{
	struct buf pa = { .secret = 1 }, pb = { .secret = 1 };
	struct err e;
	int same;

	if (f->format != FMT_PKCS12)
		return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
	same = pkcs12_as_pem(f, a->data, a->len, &pa, &e) == 0 &&
	    pkcs12_as_pem(f, b->data, b->len, &pb, &e) == 0 &&
	    pa.len == pb.len && memcmp(pa.data, pb.data, pa.len) == 0;
	buf_free(&pa);
	buf_free(&pb);
	return same;
}

X509 *
render_bundle_leaf(const struct bundle *b, const struct bundle_parsed *p,
    const char *item)
{
	const struct bundle_entry *ce = entry_of(b, item, KIND_CHAIN);
	STACK_OF(X509) *chain, *own = NULL;
	X509 *leaf;

	if (ce == NULL || (chain = chain_of(b, p, ce, &own, NULL)) == NULL)
		return NULL;
	leaf = sk_X509_value(chain, 0);
	if (leaf != NULL && X509_up_ref(leaf) != 1)
		leaf = NULL;
	sk_X509_pop_free(own, X509_free);
	return leaf;
}
