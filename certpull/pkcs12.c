#include <string.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>

#include "cert.h"
#include "fsutil.h"
#include "pkcs12.h"

/*
 * Reads f's password into pw (marked secret: wiped when freed): the file
 * must be a regular file of ours that nobody else can read, one line; the
 * final newline is not part of the password.  No password_file: an empty
 * pw, and *none is set.  0, or -1 with e set.
 */
static int
read_password(const struct svc_file *f, struct buf *pw, int *none, struct err *e)
{
	struct stat st;
	struct err why;

	pw->secret = 1;
	*none = f->password_file == NULL;
	if (*none)
		return 0;
	if (file_read_stat(f->password_file, PKCS12_PASSWORD_MAX, pw, &st, &why) == -1 ||
	    stat_check_secret(f->password_file, &st, &why) == -1)
		return err_set(e, "%s: password: %s", f->path, why.msg);
	if (pw->len > 0 && pw->data[pw->len - 1] == '\n')
		pw->len--;
	if (pw->len > 0 && pw->data[pw->len - 1] == '\r')
		pw->len--;
	if (pw->len == 0 || memchr(pw->data, '\0', pw->len) != NULL ||
	    memchr(pw->data, '\n', pw->len) != NULL)
		return err_set(e, "%s: password file %s must hold one non-empty line",
		    f->path, f->password_file);
	return buf_add_u8(pw, '\0') == 0 ? 0 : err_set(e, "out of memory");
}

int
pkcs12_render(const struct svc_file *f, STACK_OF(X509) *chain, EVP_PKEY *key,
    struct buf *out, struct err *e)
{
	struct buf pw = { 0 };
	STACK_OF(X509) *ca = NULL;
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	int none, len, rc = -1, i;

	if (read_password(f, &pw, &none, e) == -1)
		goto out;
	if ((ca = sk_X509_new_null()) == NULL)
		goto oom;
	for (i = 1; i < sk_X509_num(chain); i++)
		if (sk_X509_push(ca, sk_X509_value(chain, i)) == 0)
			goto oom;
	/*
	 * No password file: the empty password, as `openssl pkcs12 -passout
	 * pass:` does; Java reads no private key from an unencrypted bag.
	 */
	p12 = PKCS12_create(none ? "" : (const char *)pw.data, NULL, key,
	    sk_X509_value(chain, 0), ca, 0, 0, 0, 0, 0);
	if (p12 == NULL || (len = i2d_PKCS12(p12, &der)) <= 0) {
		err_ssl(e, "%s: cannot encode PKCS#12", f->path);
		goto out;
	}
	out->secret = 1;
	if (buf_add(out, der, (size_t)len) == -1)
		goto oom;
	rc = 0;
	goto out;
oom:
	err_set(e, "out of memory");
out:
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)len);
	PKCS12_free(p12);
	sk_X509_free(ca);	/* the certificates belong to chain */
	buf_free(&pw);
	return rc;
}

int
pkcs12_as_pem(const struct svc_file *f, const void *der, size_t len, struct buf *pem,
    struct err *e)
{
	const unsigned char *p = der;
	struct buf pw = { 0 };
	STACK_OF(X509) *ca = NULL, *chain = NULL;
	PKCS12 *p12 = NULL;
	EVP_PKEY *key = NULL;
	X509 *leaf = NULL;
	int none, rc = -1, i;

	pem->secret = 1;
	if (read_password(f, &pw, &none, e) == -1)
		goto out;
	if (len > INT32_MAX || (p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL ||
	    p != (const unsigned char *)der + len) {
		err_ssl(e, "%s: not a PKCS#12 file", f->path);
		goto out;
	}
	if (!PKCS12_parse(p12, none ? "" : (const char *)pw.data, &key, &leaf, &ca)) {
		err_ssl(e, "%s: cannot open the PKCS#12 file (wrong password?)", f->path);
		goto out;
	}
	if (key == NULL || leaf == NULL) {
		err_set(e, "%s: the PKCS#12 file lacks a %s", f->path,
		    key == NULL ? "private key" : "certificate");
		goto out;
	}
	if ((chain = sk_X509_new_null()) == NULL || sk_X509_push(chain, leaf) == 0) {
		err_set(e, "out of memory");
		goto out;
	}
	for (i = 0; ca != NULL && i < sk_X509_num(ca); i++)
		if (sk_X509_push(chain, sk_X509_value(ca, i)) == 0) {
			err_set(e, "out of memory");
			goto out;
		}
	if (cert_pem_chain(chain, 0, -1, pem) == -1 || cert_pem_key(key, pem) == -1) {
		err_set(e, "%s: cannot re-encode the PKCS#12 content", f->path);
		goto out;
	}
	rc = 0;
out:
	sk_X509_free(chain);	/* it borrows leaf and ca's certificates */
	X509_free(leaf);
	sk_X509_pop_free(ca, X509_free);
	EVP_PKEY_free(key);
	PKCS12_free(p12);
	buf_free(&pw);
	ERR_clear_error();
	return rc;
}
