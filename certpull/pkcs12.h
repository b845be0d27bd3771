/*
 * The pkcs12 file format: leaf, chain and private key in one PKCS#12
 * file, for Java and the other consumers that read nothing else.  Its
 * password is read from the file's password_file (root's alone), or it
 * is the empty password.  PKCS#12 output carries random salts, so two renders of
 * the same content differ: readers compare files through pkcs12_as_pem,
 * which re-encodes what a file holds as leaf, chain and key in PEM.
 */
#ifndef CP_PKCS12_H
#define CP_PKCS12_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "err.h"
#include "pullconf.h"

#define PKCS12_PASSWORD_MAX	1024

/*
 * Encodes chain (leaf first) and key as f's PKCS#12 file into out, the
 * key and certificates encrypted (AES-256, PBKDF2) under a SHA-256 MAC,
 * OpenSSL's defaults, with f's password or, without a password_file, the
 * empty one (what Java's keytool reads with an empty store password).
 * 0, or -1 with e set.
 */
int	pkcs12_render(const struct svc_file *f, STACK_OF(X509) *chain, EVP_PKEY *key,
	    struct buf *out, struct err *e);
/*
 * Decodes the PKCS#12 file in der with f's password and appends to pem
 * its leaf, chain and key, as a haproxy-format file holds them.  0, or -1
 * with e set (wrong password, damaged file, no key or certificate).
 */
int	pkcs12_as_pem(const struct svc_file *f, const void *der, size_t len,
	    struct buf *pem, struct err *e);

#endif
