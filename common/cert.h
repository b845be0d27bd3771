/*
 * Certificate and private-key helpers on top of OpenSSL: parse PEM,
 * check a key against its certificate, chain order, validity and names,
 * and re-encode what was parsed (nothing untrusted is installed as-is).
 */
#ifndef CP_CERT_H
#define CP_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "err.h"

#define CERT_CHAIN_MAX	10	/* certificates in one chain */
#define CERT_FPR_LEN	96	/* "AB:CD:..." for SHA-256, with NUL */

/*
 * Parses one or more PEM certificates, leaf first.  Anything else in the
 * input (other PEM types, garbage) is an error.  Returns the stack (the
 * caller frees it with sk_X509_pop_free(s, X509_free)) or NULL with e set.
 */
STACK_OF(X509) *cert_parse_chain(const void *pem, size_t len, struct err *e);
/* The first certificate found in PEM text that may hold other blocks. */
X509	*cert_first_in_pem(const void *pem, size_t len);
/* Parses exactly one PEM private key.  Returns it (caller frees) or NULL. */
EVP_PKEY *cert_parse_key(const void *pem, size_t len, struct err *e);

/* Each returns 0 when the check passes, -1 with e set otherwise. */
int	cert_check_pair(X509 *leaf, EVP_PKEY *key, struct err *e);
int	cert_check_order(STACK_OF(X509) *chain, struct err *e);
int	cert_check_time(X509 *x, time_t now, struct err *e);
int	cert_check_name(X509 *leaf, const char *name, struct err *e);
/* A DKIM signing key: RSA of at least 1024 bits, or Ed25519. */
int	cert_check_dkim_key(EVP_PKEY *key, struct err *e);

/* notAfter / notBefore as a time_t (0 if unparsable). */
time_t	cert_not_after(X509 *x);
time_t	cert_not_before(X509 *x);
/* SHA-256 fingerprint as openssl x509 -fingerprint prints it. */
void	cert_fingerprint(X509 *x, char out[CERT_FPR_LEN]);
/* A name as a one-line RFC 2253 string ("" on failure). */
void	cert_name_str(const X509_NAME *name, char *out, size_t outlen);
/* Subject as a one-line string, e.g. "CN=mail.example.com". */
void	cert_subject(X509 *x, char *out, size_t outlen);
/* DNS names of the subjectAltName, comma separated ("" if none). */
void	cert_dns_names(X509 *x, char *out, size_t outlen);
/* Key type and size, e.g. "RSA 2048" or "EC 256". */
void	cert_key_desc(EVP_PKEY *key, char *out, size_t outlen);

/* Re-encode parsed objects as PEM, appending to out. 0 or -1. */
/* Certificates from index from up to (not including) to; to < 0: all. */
int	cert_pem_chain(STACK_OF(X509) *chain, int from, int to, struct buf *out);
int	cert_pem_key(EVP_PKEY *key, struct buf *out);

#endif
