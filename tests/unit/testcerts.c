/*
 * Test PKI made with the OpenSSL C API; see testcerts.h.  Included by the
 * test files (#include "testcerts.c"), never compiled on its own.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "testcerts.h"

EVP_PKEY *
tc_key_ec(void)
{
	return EVP_EC_gen("P-256");
}

EVP_PKEY *
tc_key_rsa(int bits)
{
	return EVP_RSA_gen((unsigned int)bits);
}

/* Adds extension nid=value to x, in the context of issuer.  0 or -1. */
static int
tc_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

X509 *
tc_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
    time_t now, long from, long to, int ca, const char *san)
{
	static long next_serial = 1000;
	X509 *x = X509_new();
	X509_NAME *name;
	int rc = 0;

	if (x == NULL)
		return NULL;
	rc |= X509_set_version(x, 2) != 1;
	rc |= ASN1_INTEGER_set(X509_get_serialNumber(x), next_serial++) != 1;
	rc |= ASN1_TIME_adj(X509_getm_notBefore(x), now, 0, from) == NULL;
	rc |= ASN1_TIME_adj(X509_getm_notAfter(x), now, 0, to) == NULL;
	rc |= X509_set_pubkey(x, pub) != 1;
	name = X509_get_subject_name(x);
	rc |= X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1;
	rc |= X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1;
	if (rc != 0)
		goto fail;
	/* Self-signed: the certificate is its own issuer for the key ids. */
	if (issuer == NULL) {
		issuer = x;
		issuer_key = pub;
	}
	rc |= tc_add_ext(x, issuer, NID_subject_key_identifier, "hash");
	rc |= tc_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	if (ca) {
		rc |= tc_add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		rc |= tc_add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		rc |= tc_add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		rc |= tc_add_ext(x, issuer, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		rc |= tc_add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
	}
	if (san != NULL)
		rc |= tc_add_ext(x, issuer, NID_subject_alt_name, san);
	if (rc != 0 || X509_sign(x, issuer_key, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* The memory BIO's contents as a malloc'd string; frees the BIO. */
static char *
tc_bio_string(BIO *bio)
{
	char *p, *s = NULL;
	long n = BIO_get_mem_data(bio, &p);

	if (n > 0 && (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(bio);
	return s;
}

char *
tc_pem_certs(X509 *const *certs, size_t n)
{
	BIO *bio = BIO_new(BIO_s_mem());
	size_t i;

	if (bio == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (PEM_write_bio_X509(bio, certs[i]) != 1) {
			BIO_free(bio);
			return NULL;
		}
	return tc_bio_string(bio);
}

char *
tc_pem_key(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(bio);
		return NULL;
	}
	return tc_bio_string(bio);
}

/* PEM of a, then b. */
static char *
tc_chain2(X509 *a, X509 *b)
{
	X509 *v[2] = { a, b };

	return tc_pem_certs(v, 2);
}

int
tc_pki_new(struct tc_pki *p, time_t now)
{
	X509 *mis[3];

	memset(p, 0, sizeof(*p));
	p->now = now;
	if ((p->root_key = tc_key_ec()) == NULL || (p->int_key = tc_key_ec()) == NULL ||
	    (p->ec_key = tc_key_ec()) == NULL || (p->other_key = tc_key_ec()) == NULL ||
	    (p->rsa_key = tc_key_rsa(2048)) == NULL ||
	    (p->dkim_key = tc_key_rsa(2048)) == NULL)
		goto fail;
	p->root = tc_cert("Test Root CA", p->root_key, NULL, NULL, now,
	    -10 * TC_DAY, 3650 * TC_DAY, 1, NULL);
	p->inter = tc_cert("Test Intermediate", p->int_key, p->root, p->root_key, now,
	    -10 * TC_DAY, 365 * TC_DAY, 1, NULL);
	if (p->root == NULL || p->inter == NULL)
		goto fail;
	p->rsa_leaf = tc_cert("mail.example.test", p->rsa_key, p->inter, p->int_key, now,
	    -TC_DAY, 90 * TC_DAY, 0, "DNS:mail.example.test,DNS:smtp.example.test");
	p->ec_leaf = tc_cert("www.example.test", p->ec_key, p->inter, p->int_key, now,
	    -TC_DAY, 90 * TC_DAY, 0, "DNS:www.example.test,DNS:example.test");
	p->expired_leaf = tc_cert("old.example.test", p->ec_key, p->inter, p->int_key,
	    now, -90 * TC_DAY, -TC_DAY, 0, "DNS:old.example.test");
	p->future_leaf = tc_cert("new.example.test", p->ec_key, p->inter, p->int_key,
	    now, TC_DAY, 90 * TC_DAY, 0, "DNS:new.example.test");
	if (p->rsa_leaf == NULL || p->ec_leaf == NULL || p->expired_leaf == NULL ||
	    p->future_leaf == NULL)
		goto fail;
	mis[0] = p->ec_leaf;
	mis[1] = p->root;
	mis[2] = p->inter;
	if ((p->rsa_chain = tc_chain2(p->rsa_leaf, p->inter)) == NULL ||
	    (p->ec_chain = tc_chain2(p->ec_leaf, p->inter)) == NULL ||
	    (p->expired_chain = tc_chain2(p->expired_leaf, p->inter)) == NULL ||
	    (p->future_chain = tc_chain2(p->future_leaf, p->inter)) == NULL ||
	    (p->misordered_chain = tc_pem_certs(mis, 3)) == NULL ||
	    (p->rsa_keypem = tc_pem_key(p->rsa_key)) == NULL ||
	    (p->ec_keypem = tc_pem_key(p->ec_key)) == NULL ||
	    (p->other_keypem = tc_pem_key(p->other_key)) == NULL ||
	    (p->dkim_keypem = tc_pem_key(p->dkim_key)) == NULL)
		goto fail;
	return 0;
fail:
	ERR_print_errors_fp(stderr);
	tc_pki_free(p);
	return -1;
}

void
tc_pki_free(struct tc_pki *p)
{
	EVP_PKEY_free(p->root_key);
	EVP_PKEY_free(p->int_key);
	EVP_PKEY_free(p->rsa_key);
	EVP_PKEY_free(p->ec_key);
	EVP_PKEY_free(p->other_key);
	EVP_PKEY_free(p->dkim_key);
	X509_free(p->root);
	X509_free(p->inter);
	X509_free(p->rsa_leaf);
	X509_free(p->ec_leaf);
	X509_free(p->expired_leaf);
	X509_free(p->future_leaf);
	free(p->rsa_chain);
	free(p->ec_chain);
	free(p->expired_chain);
	free(p->future_chain);
	free(p->misordered_chain);
	free(p->rsa_keypem);
	free(p->ec_keypem);
	free(p->other_keypem);
	free(p->dkim_keypem);
	memset(p, 0, sizeof(*p));
}
