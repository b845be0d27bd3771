/*
 * Test PKI for the unit tests, made with the OpenSSL C API at run time:
 * a root CA, an intermediate, RSA 2048 and ECDSA P-256 leaves with
 * subjectAltNames, an expired leaf, a not-yet-valid leaf, a key that
 * matches none of them and an RSA DKIM key.  RSA key generation is slow
 * under ASan, so a test binary builds one tc_pki in its group setup.
 *
 * The Makefile compiles only tests/unit/test_*.c, one binary each: a
 * test file uses these helpers with #include "testcerts.c".
 */
#ifndef CP_TESTCERTS_H
#define CP_TESTCERTS_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define TC_DAY	86400L

struct tc_pki {
	time_t		 now;		/* the time every validity is relative to */
	EVP_PKEY	*root_key, *int_key;
	EVP_PKEY	*rsa_key, *ec_key, *other_key, *dkim_key;
	X509		*root, *inter;
	X509		*rsa_leaf;	/* RSA 2048, mail.example.test, 90 days */
	X509		*ec_leaf;	/* P-256, www.example.test, 90 days */
	X509		*expired_leaf;	/* P-256 (ec_key), ended yesterday */
	X509		*future_leaf;	/* P-256 (ec_key), starts tomorrow */
	/* PEM text (NUL-terminated, malloc'd) */
	char		*rsa_chain;	/* rsa_leaf, inter */
	char		*ec_chain;	/* ec_leaf, inter */
	char		*expired_chain;	/* expired_leaf, inter */
	char		*future_chain;	/* future_leaf, inter */
	char		*misordered_chain;	/* ec_leaf, root, inter */
	char		*rsa_keypem, *ec_keypem, *other_keypem, *dkim_keypem;
};

/* Builds the whole PKI relative to now.  0, or -1 (OpenSSL error). */
int	tc_pki_new(struct tc_pki *p, time_t now);
void	tc_pki_free(struct tc_pki *p);

/* A fresh key.  NULL on failure; caller frees. */
EVP_PKEY *tc_key_ec(void);
EVP_PKEY *tc_key_rsa(int bits);
/*
 * A certificate for cn with public key pub, valid from now + from to
 * now + to (seconds), signed by issuer/issuer_key (self-signed with
 * pub's own key when issuer is NULL).  ca: a CA certificate.  san: a
 * subjectAltName value such as "DNS:a.example,DNS:b.example" or NULL.
 */
X509	*tc_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
	    time_t now, long from, long to, int ca, const char *san);
/* PEM of certs[0..n) / of a private key (PKCS#8), malloc'd, NUL-terminated. */
char	*tc_pem_certs(X509 *const *certs, size_t n);
char	*tc_pem_key(EVP_PKEY *key);

#endif
