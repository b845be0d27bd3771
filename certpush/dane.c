#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dane.h"

int
tlsa_parse(const uint8_t *rdata, size_t len, struct tlsa *t, struct err *e)
{
	size_t n;

	if (len < 4)
		return err_set(e, "TLSA record of %zu bytes: too short", len);
	t->usage = rdata[0];
	t->selector = rdata[1];
	t->mtype = rdata[2];
	t->data = rdata + 3;
	t->len = n = len - 3;
	if (t->usage > 3 || t->selector > 1 || t->mtype > 2)
		return err_set(e, "TLSA %u %u %u: unknown usage, selector or matching "
		    "type", t->usage, t->selector, t->mtype);
	if ((t->mtype == 1 && n != 32) || (t->mtype == 2 && n != 64))
		return err_set(e, "TLSA %u %u %u: %zu bytes of data, not %d", t->usage,
		    t->selector, t->mtype, n, t->mtype == 1 ? 32 : 64);
	return 0;
}

/* The DER of x (selector 0) or of its or key's SubjectPublicKeyInfo. */
static int
der_of(X509 *x, EVP_PKEY *key, unsigned selector, unsigned char **der)
{
	*der = NULL;
	if (selector == 0)
		return x == NULL ? -1 : i2d_X509(x, der);
	if (key == NULL && (x == NULL || (key = X509_get0_pubkey(x)) == NULL))
		return -1;
	return i2d_PUBKEY(key, der);
}

int
dane_hash(X509 *x, EVP_PKEY *key, unsigned selector, unsigned mtype,
    uint8_t out[DANE_HASH_MAX], size_t *n)
{
	unsigned char *der;
	unsigned int len = 0;
	int dlen, rc;

	if (mtype != 1 && mtype != 2)
		return -1;
	if ((dlen = der_of(x, key, selector, &der)) <= 0)
		return -1;
	rc = EVP_Digest(der, (size_t)dlen, out, &len, mtype == 1 ? EVP_sha256() :
	    EVP_sha512(), NULL) == 1 ? 0 : -1;
	*n = len;
	OPENSSL_free(der);
	return rc;
}

/* Whether t's data is x's (or key's) association data.  1 or 0. */
static int
assoc_matches(const struct tlsa *t, X509 *x, EVP_PKEY *key)
{
	uint8_t h[DANE_HASH_MAX];
	unsigned char *der;
	size_t n;
	int dlen, ok;

	if (t->mtype != 0)
		return dane_hash(x, key, t->selector, t->mtype, h, &n) == 0 &&
		    n == t->len && CRYPTO_memcmp(h, t->data, n) == 0;
	if ((dlen = der_of(x, key, t->selector, &der)) <= 0)
		return 0;
	ok = (size_t)dlen == t->len && memcmp(der, t->data, t->len) == 0;
	OPENSSL_free(der);
	return ok;
}

int
tlsa_match_chain(const struct tlsa *t, STACK_OF(X509) *chain)
{
	int i, n = chain ? sk_X509_num(chain) : 0;

	/* Usages 1 and 3 name the end entity, 0 and 2 a CA above it. */
	if (t->usage == 1 || t->usage == 3)
		return n > 0 && assoc_matches(t, sk_X509_value(chain, 0), NULL);
	for (i = 1; i < n; i++)
		if (assoc_matches(t, sk_X509_value(chain, i), NULL))
			return 1;
	return 0;
}

int
tlsa_match_key(const struct tlsa *t, EVP_PKEY *key)
{
	return (t->usage == 1 || t->usage == 3) && t->selector == 1 &&
	    assoc_matches(t, NULL, key);
}

int
tlsa_record_text(const char *host, unsigned long port, const uint8_t u[3],
    STACK_OF(X509) *chain, EVP_PKEY *key, char *out, size_t size)
{
	uint8_t h[DANE_HASH_MAX];
	char hex[2 * DANE_HASH_MAX + 1];
	X509 *x = NULL;
	size_t n, i, hl = strlen(host);
	int w;

	if (chain != NULL)
		x = sk_X509_value(chain, u[0] == 2 ? 1 : 0);
	else if (u[0] != 3 || u[1] != 1)
		return -1;
	if ((chain != NULL && x == NULL) || dane_hash(x, key, u[1], u[2], h, &n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	w = snprintf(out, size, "_%lu._tcp.%.*s. IN TLSA %u %u %u %s", port, (int)hl,
	    host, u[0], u[1], u[2], hex);
	return w < 0 || (size_t)w >= size ? -1 : 0;
}

/* Joins the character-strings of TXT rdata into out (NUL-terminated). */
static int
txt_join(const uint8_t *rdata, size_t len, char *out, size_t size, struct err *e)
{
	size_t i = 0, n = 0, sl;

	while (i < len) {
		sl = rdata[i++];
		if (sl > len - i)
			return err_set(e, "TXT record: a string runs past the record's end");
		if (n + sl >= size)
			return err_set(e, "TXT record: more than %zu bytes", size - 1);
		if (memchr(rdata + i, '\0', sl) != NULL)
			return err_set(e, "TXT record: a NUL byte");
		memcpy(out + n, rdata + i, sl);
		n += sl;
		i += sl;
	}
	out[n] = '\0';
	return 0;
}

/* s without the folding whitespace at its ends (in place). */
static char *
trim(char *s)
{
	char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
	    end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* The tags DKIM keys use, and where each was seen. */
struct dkim_tags {
	char	*v, *k, *p;
	int	 ntags;
};

/* One "name=value" tag into tg.  0, or -1 with e set. */
static int
dkim_tag(char *tag, struct dkim_tags *tg, struct err *e)
{
	char *eq = strchr(tag, '='), *name, *value, **slot = NULL;

	if (*trim(tag) == '\0')
		return 0;		/* "a=1;" ends with an empty tag */
	if (eq == NULL)
		return err_set(e, "DKIM record: tag \"%.32s\" has no '='", tag);
	*eq = '\0';
	name = trim(tag);
	value = trim(eq + 1);
	if (*name == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	    "WXYZ0123456789_") != strlen(name))
		return err_set(e, "DKIM record: bad tag name \"%.32s\"", name);
	if (strcmp(name, "v") == 0)
		slot = &tg->v;
	else if (strcmp(name, "k") == 0)
		slot = &tg->k;
	else if (strcmp(name, "p") == 0)
		slot = &tg->p;
	if (strcmp(name, "v") == 0 && tg->ntags != 0)
		return err_set(e, "DKIM record: v= is not the first tag");
	tg->ntags++;
	if (slot == NULL)
		return 0;
	if (*slot != NULL)
		return err_set(e, "DKIM record: tag %s= appears twice", name);
	*slot = value;
	return 0;
}

/* Decodes base64 text (whitespace removed in place) into a malloc'd buffer. */
static unsigned char *
b64_decode(char *s, size_t *outlen, struct err *e)
{
	unsigned char *out;
	char *eq;
	size_t i, n = 0, pad = 0;
	int len;

	for (i = 0; s[i] != '\0'; i++)
		if (!isspace((unsigned char)s[i]))
			s[n++] = s[i];
	s[n] = '\0';
	if (n == 0 || n % 4 != 0 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	    "klmnopqrstuvwxyz0123456789+/=") != n) {
		err_set(e, "DKIM record: p= is not base64");
		return NULL;
	}
	pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
	eq = strchr(s, '=');
	if ((pad == 0 ? eq != NULL : eq != s + n - pad) || (out = malloc(n / 4 * 3)) == NULL ||
	    (len = EVP_DecodeBlock(out, (unsigned char *)s, (int)n)) < 0) {
		err_set(e, "DKIM record: p= is not base64");
		return NULL;
	}
	*outlen = (size_t)len - pad;
	return out;
}

/* The public key of p= for key type k (rsa by default). */
static EVP_PKEY *
dkim_decode_key(const char *k, char *p, struct err *e)
{
	const unsigned char *q;
	unsigned char *der;
	EVP_PKEY *key = NULL;
	size_t n;

	if (*p == '\0') {
		err_set(e, "DKIM record: empty p= (the key is revoked)");
		return NULL;
	}
	if ((der = b64_decode(p, &n, e)) == NULL)
		return NULL;
	q = der;
	if (k != NULL && strcmp(k, "ed25519") == 0) {
		/* RFC 8463: the bare 32-byte key, not a SubjectPublicKeyInfo. */
		if (n != 32 || (key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    der, n)) == NULL)
			err_set(e, "DKIM record: p= is not an Ed25519 key");
	} else if (k != NULL && strcmp(k, "rsa") != 0)
		err_set(e, "DKIM record: key type k=%.16s is not rsa or ed25519", k);
	else if ((key = d2i_PUBKEY(NULL, &q, (long)n)) == NULL || q != der + n ||
	    EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		key = NULL;
		err_set(e, "DKIM record: p= is not an RSA SubjectPublicKeyInfo");
	}
	free(der);
	return key;
}

EVP_PKEY *
dkim_txt_key(const uint8_t *rdata, size_t len, struct err *e)
{
	struct dkim_tags tg = { 0 };
	char *txt, *tag, *save = NULL;
	EVP_PKEY *key = NULL;

	if ((txt = malloc(DKIM_TXT_MAX + 1)) == NULL) {
		err_set(e, "out of memory");
		return NULL;
	}
	if (txt_join(rdata, len, txt, DKIM_TXT_MAX + 1, e) == -1)
		goto out;
	for (tag = strtok_r(txt, ";", &save); tag != NULL; tag = strtok_r(NULL, ";", &save))
		if (dkim_tag(tag, &tg, e) == -1)
			goto out;
	if (tg.v != NULL && strcmp(tg.v, "DKIM1") != 0)
		err_set(e, "DKIM record: v=%.16s is not DKIM1", tg.v);
	else if (tg.p == NULL)
		err_set(e, "DKIM record: no p= tag");
	else
		key = dkim_decode_key(tg.k, tg.p, e);
out:
	free(txt);
	return key;
}

int
dane_same_key(EVP_PKEY *a, EVP_PKEY *b)
{
	return a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;
}

/* The base64 of key as DKIM publishes it (malloc'd), and its k= name. */
static char *
dkim_p(EVP_PKEY *key, const char **k)
{
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	char *out = NULL;
	int n;

	if (EVP_PKEY_base_id(key) == EVP_PKEY_ED25519) {
		*k = "ed25519";
		if (EVP_PKEY_get_raw_public_key(key, raw, &rawlen) != 1)
			return NULL;
		n = (int)rawlen;
		der = raw;
	} else {
		*k = "rsa";
		if ((n = i2d_PUBKEY(key, &der)) <= 0)
			return NULL;
	}
	if ((out = malloc((size_t)(n + 2) / 3 * 4 + 1)) != NULL)
		EVP_EncodeBlock((unsigned char *)out, der, n);
	if (der != raw)
		OPENSSL_free(der);
	return out;
}

char *
dkim_record_text(const char *selector, const char *domain, EVP_PKEY *key)
{
	const char *k;
	char *p = dkim_p(key, &k), *txt = NULL, *out = NULL;
	size_t n, i, o;

	if (p == NULL || asprintf(&txt, "v=DKIM1; k=%s; p=%s", k, p) == -1) {
		free(p);
		return NULL;
	}
	n = strlen(txt);
	/* Strings of at most 255 characters, each quoted, space-separated. */
	if ((out = malloc(strlen(selector) + strlen(domain) + 40 + n + n / 255 * 3 + 3)) ==
	    NULL)
		goto done;
	o = (size_t)sprintf(out, "%s._domainkey.%s. IN TXT", selector, domain);
	for (i = 0; i < n; i += 255)
		o += (size_t)sprintf(out + o, " \"%.255s\"", txt + i);
done:
	free(p);
	free(txt);
	return out;
}
