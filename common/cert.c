#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert.h"

/* True if only whitespace remains in the BIO. */
static int
bio_rest_blank(BIO *bio)
{
	char c;

	while (BIO_read(bio, &c, 1) == 1)
		if (!isspace((unsigned char)c))
			return 0;
	return 1;
}

/* Reads the next PEM block; -1 at a clean end, 1 on a block, 0 on error. */
static int
next_pem(BIO *bio, char **name, uint8_t **data, long *len)
{
	char *header = NULL;

	if (PEM_read_bio(bio, name, &header, data, len) != 1) {
		unsigned long code = ERR_peek_last_error();

		OPENSSL_free(header);
		if (ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
			ERR_clear_error();
			return -1;
		}
		return 0;
	}
	OPENSSL_free(header);
	return 1;
}

STACK_OF(X509) *
cert_parse_chain(const void *pem, size_t len, struct err *e)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL;
	uint8_t *der = NULL;
	long derlen;
	int r;

	if (chain == NULL || bio == NULL || len > INT32_MAX) {
		err_set(e, "out of memory");
		goto fail;
	}
	while ((r = next_pem(bio, &name, &der, &derlen)) == 1) {
		const uint8_t *p = der;
		X509 *x;

		if (strcmp(name, PEM_STRING_X509) != 0) {
			err_set(e, "unexpected PEM block \"%s\" among certificates", name);
			goto fail;
		}
		if ((x = d2i_X509(NULL, &p, derlen)) == NULL || p != der + derlen) {
			X509_free(x);
			err_ssl(e, "certificate %d does not parse", sk_X509_num(chain) + 1);
			goto fail;
		}
		if (sk_X509_num(chain) >= CERT_CHAIN_MAX || sk_X509_push(chain, x) == 0) {
			X509_free(x);
			err_set(e, "more than %d certificates", CERT_CHAIN_MAX);
			goto fail;
		}
		OPENSSL_free(name);
		OPENSSL_free(der);
		name = NULL;
		der = NULL;
	}
	if (r == 0) {
		err_ssl(e, "malformed PEM");
		goto fail;
	}
	if (sk_X509_num(chain) == 0) {
		err_set(e, "no certificate found");
		goto fail;
	}
	BIO_free(bio);
	return chain;
fail:
	OPENSSL_free(name);
	OPENSSL_free(der);
	BIO_free(bio);
	sk_X509_pop_free(chain, X509_free);
	return NULL;
}

X509 *
cert_first_in_pem(const void *pem, size_t len)
{
	BIO *bio;
	X509 *x;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	/* PEM_read_bio_X509 skips blocks of other types, such as a key. */
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return x;
}

/*
 * Password callback for every key we parse: keys are never encrypted
 * here, and OpenSSL's default callback would prompt on the controlling
 * terminal, blocking on a passphrase-protected key.  Refuse instead.
 */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/*
 * Decodes a PKCS#8 PrivateKeyInfo (DER) with a decoder context asked for
 * its own key type and structure.  OpenSSL 3.0's PEM_read_bio_PrivateKey
 * builds a context from every decoder of every provider for each key it
 * reads (4.4 million instructions); one narrowed to the type named by the
 * key's algorithm OID costs about 1.3 million.  OpenSSL parses and decodes
 * the key (EVP_PKCS82PKEY does the same, without the narrowing we get
 * here).  Returns the key or NULL.
 */
static EVP_PKEY *
decode_pkcs8(const uint8_t *der, long len)
{
	PKCS8_PRIV_KEY_INFO *p8;
	const ASN1_OBJECT *alg;
	OSSL_DECODER_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	const uint8_t *p = der;
	size_t left = (size_t)len;
	char type[80];

	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len)) == NULL || p != der + len ||
	    PKCS8_pkey_get0(&alg, NULL, NULL, NULL, p8) != 1 ||
	    OBJ_obj2txt(type, sizeof(type), alg, 0) <= 0 ||
	    (size_t)OBJ_obj2txt(NULL, 0, alg, 0) >= sizeof(type) ||
	    (ctx = OSSL_DECODER_CTX_new_for_pkey(&key, "DER", "PrivateKeyInfo", type,
	    EVP_PKEY_KEYPAIR, NULL, NULL)) == NULL)
		goto out;
	p = der;
	if (OSSL_DECODER_from_data(ctx, &p, &left) != 1 || left != 0) {
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	OSSL_DECODER_CTX_free(ctx);
	PKCS8_PRIV_KEY_INFO_free(p8);	/* clears the key's octets */
	return key;
}

/*
 * The narrow path for a PEM "PRIVATE KEY" block (PKCS#8, no headers)
 * first in bio: what OpenSSL writes, so every key of a bundle.  Returns
 * the key with bio just after the block, or NULL (nothing reported) for
 * anything else, which the generic path then reads from the start.  The
 * DER is read into OpenSSL's secure-heap buffers and cleared when freed.
 */
static EVP_PKEY *
parse_key_pkcs8(BIO *bio)
{
	char *name = NULL, *header = NULL;
	uint8_t *der = NULL;
	long len = 0;
	EVP_PKEY *key = NULL;

	ERR_set_mark();
	if (PEM_read_bio_ex(bio, &name, &header, &der, &len,
	    PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) == 1 &&
	    strcmp(name, PEM_STRING_PKCS8INF) == 0 && header[0] == '\0')
		key = decode_pkcs8(der, len);
	OPENSSL_secure_clear_free(der, (size_t)len);
	OPENSSL_secure_free(name);
	OPENSSL_secure_free(header);
	ERR_pop_to_mark();
	return key;
}

EVP_PKEY *
cert_parse_key(const void *pem, size_t len, struct err *e)
{
	BIO *bio;
	EVP_PKEY *key = NULL;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		err_set(e, "out of memory");
		return NULL;
	}
	/* Anything else: OpenSSL's generic reader, from the start (a reset
	 * read-only memory BIO reads its data again). */
	if ((key = parse_key_pkcs8(bio)) == NULL && BIO_reset(bio) != 1)
		err_set(e, "cannot read the private key again");
	else if (key == NULL &&
	    (key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) == NULL)
		err_ssl(e, "no PEM private key found");
	else if (!bio_rest_blank(bio)) {
		err_set(e, "unexpected data after the private key");
		EVP_PKEY_free(key);
		key = NULL;
	}
	BIO_free(bio);
	return key;
}

int
cert_check_pair(X509 *leaf, EVP_PKEY *key, struct err *e)
{
	if (X509_check_private_key(leaf, key) != 1)
		return err_ssl(e, "private key does not match the certificate");
	return 0;
}

int
cert_check_order(STACK_OF(X509) *chain, struct err *e)
{
	int i, n = sk_X509_num(chain);

	for (i = 0; i + 1 < n; i++) {
		X509 *child = sk_X509_value(chain, i);
		X509 *issuer = sk_X509_value(chain, i + 1);

		if (X509_check_issued(issuer, child) != X509_V_OK)
			return err_set(e, "chain out of order: certificate %d "
			    "is not issued by certificate %d", i + 1, i + 2);
	}
	return 0;
}

int
cert_check_time(X509 *x, time_t now, struct err *e)
{
	char subj[256];

	cert_subject(x, subj, sizeof(subj));
	if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0)
		return err_set(e, "certificate \"%s\" is not valid yet", subj);
	if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0)
		return err_set(e, "certificate \"%s\" has expired", subj);
	return 0;
}

int
cert_check_name(X509 *leaf, const char *name, struct err *e)
{
	if (X509_check_host(leaf, name, 0, 0, NULL) != 1)
		return err_set(e, "certificate does not cover the name \"%s\"", name);
	return 0;
}

int
cert_check_dkim_key(EVP_PKEY *key, struct err *e)
{
	int id = EVP_PKEY_get_base_id(key);

	if (id == EVP_PKEY_ED25519)
		return 0;
	if (id != EVP_PKEY_RSA)
		return err_set(e, "DKIM key must be RSA or Ed25519");
	if (EVP_PKEY_get_bits(key) < 1024)
		return err_set(e, "DKIM RSA key has %d bits; at least 1024 are required",
		    EVP_PKEY_get_bits(key));
	return 0;
}

static time_t
asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

time_t
cert_not_after(X509 *x)
{
	return asn1_to_time(X509_get0_notAfter(x));
}

time_t
cert_not_before(X509 *x)
{
	return asn1_to_time(X509_get0_notBefore(x));
}

void
cert_fingerprint(X509 *x, char out[CERT_FPR_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	out[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &n) != 1)
		return;
	for (i = 0; i < n && 3 * i + 3 <= CERT_FPR_LEN; i++)
		snprintf(out + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
}

void
cert_name_str(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;

	out[0] = '\0';
	if (bio == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_get_mem_data(bio, &p)) > 0)
		snprintf(out, outlen, "%.*s", (int)n, p);
	BIO_free(bio);
}

void
cert_subject(X509 *x, char *out, size_t outlen)
{
	cert_name_str(X509_get_subject_name(x), out, outlen);
}

void
cert_dns_names(X509 *x, char *out, size_t outlen)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;
	int i;

	out[0] = '\0';
	for (i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		int n;

		if (gn->type != GEN_DNS)
			continue;
		n = snprintf(out + used, outlen - used, "%s%.*s", used ? "," : "",
		    ASN1_STRING_length(gn->d.dNSName),
		    (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
		if (n < 0 || (size_t)n >= outlen - used)
			break;
		used += (size_t)n;
	}
	GENERAL_NAMES_free(names);
}

void
cert_key_desc(EVP_PKEY *key, char *out, size_t outlen)
{
	const char *type;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		type = "RSA";
		break;
	case EVP_PKEY_EC:
		type = "EC";
		break;
	case EVP_PKEY_ED25519:
		type = "Ed25519";
		break;
	default:
		type = "other";
		break;
	}
	snprintf(out, outlen, "%s %d", type, EVP_PKEY_get_bits(key));
}

static int
bio_to_buf(BIO *bio, struct buf *out)
{
	char *p;
	long n = BIO_get_mem_data(bio, &p);

	return n > 0 ? buf_add(out, p, (size_t)n) : -1;
}

int
cert_pem_chain(STACK_OF(X509) *chain, int from, int to, struct buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int i, rc = -1;

	if (bio == NULL)
		return -1;
	if (to < 0 || to > sk_X509_num(chain))
		to = sk_X509_num(chain);
	for (i = from; i < to; i++)
		if (PEM_write_bio_X509(bio, sk_X509_value(chain, i)) != 1)
			goto out;
	rc = i == from ? 0 : bio_to_buf(bio, out);
out:
	BIO_free(bio);
	return rc;
}

int
cert_pem_key(EVP_PKEY *key, struct buf *out)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	int rc = -1;

	if (bio == NULL)
		return -1;
	out->secret = 1;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
		rc = bio_to_buf(bio, out);
	BIO_free(bio);
	return rc;
}
