#include <string.h>

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

static int
render_dkim(const struct bundle *b, const struct svc_file *f, struct buf *out,
    struct err *e)
{
	const struct bundle_entry *en = entry_of(b, f->item, KIND_DKIM);
	EVP_PKEY *key;
	int rc;

	if (en == NULL)
		return err_set(e, "%s: the bundle has no DKIM key \"%s\"", f->path, f->item);
	if ((key = cert_parse_key(en->data, en->len, e)) == NULL)
		return -1;
	rc = cert_pem_key(key, out);
	EVP_PKEY_free(key);
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
		break;
	}
	return -1;
}

int
render_file(const struct bundle *b, const struct svc_file *f, struct buf *out,
    char fpr[CERT_FPR_LEN], struct err *e)
{
	const struct bundle_entry *ce, *ke;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	int rc = -1;

	fpr[0] = '\0';
	if (format_is_secret(f->format))
		out->secret = 1;
	if (f->format == FMT_DKIM)
		return render_dkim(b, f, out, e);
	ce = entry_of(b, f->item, KIND_CHAIN);
	ke = entry_of(b, f->item, KIND_KEY);
	if (ce == NULL || ke == NULL)
		return err_set(e, "%s: the bundle has no certificate \"%s\"", f->path,
		    f->item);
	if ((chain = cert_parse_chain(ce->data, ce->len, e)) == NULL ||
	    (key = cert_parse_key(ke->data, ke->len, e)) == NULL)
		goto out;
	if (layout(f->format, chain, key, out) == -1) {
		err_set(e, "%s: cannot render format %s%s", f->path, format_name(f->format),
		    f->format == FMT_CHAIN ? " (the certificate has no intermediates)" : "");
		goto out;
	}
	cert_fingerprint(sk_X509_value(chain, 0), fpr);
	rc = 0;
out:
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

int
render_leaf_fpr(const struct bundle *b, const char *item, char fpr[CERT_FPR_LEN])
{
	const struct bundle_entry *ce = entry_of(b, item, KIND_CHAIN);
	STACK_OF(X509) *chain;

	fpr[0] = '\0';
	if (ce == NULL || (chain = cert_parse_chain(ce->data, ce->len, NULL)) == NULL)
		return -1;
	cert_fingerprint(sk_X509_value(chain, 0), fpr);
	sk_X509_pop_free(chain, X509_free);
	return 0;
}
