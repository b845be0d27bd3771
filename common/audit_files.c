/*
 * Auditing arbitrary certificate files (certpush audit FILE...), the
 * day-to-day replacement of ssl-cert-check: PEM (any number of blocks)
 * or DER, one line per certificate.  Built to be fast on thousands of
 * files: one read buffer and one stack for all files, no process per
 * file, no chain or store lookups (dates only).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "audit.h"

#define FILE_CAP	(16 * 1024 * 1024)	/* a CA bundle is about 200 KiB */
#define CERTS_MAX	4096			/* certificates in one file */
#define DEPTH_MAX	16

struct walk {
	const struct audit_ctx	*a;
	struct audit_list	*l;
	uint8_t			*data;		/* the read buffer, reused */
	size_t			 cap;
	STACK_OF(X509)		*certs;		/* reused */
};

static int
is_cert_block(const char *name)
{
	return strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0 ||
	    strcmp(name, PEM_STRING_X509_TRUSTED) == 0;
}

static int
is_key_block(const char *name)
{
	size_t n = strlen(name);

	return n >= 11 && strcmp(name + n - 11, "PRIVATE KEY") == 0 &&
	    strcmp(name, "ENCRYPTED PRIVATE KEY") != 0;
}

/* Decodes one PEM block's DER: a certificate onto certs, a key into *key. */
static int
take_block(const char *name, const uint8_t *der, long len, STACK_OF(X509) *certs,
    EVP_PKEY **key, int *others, struct err *e)
{
	const uint8_t *p = der;
	X509 *x;

	if (is_cert_block(name)) {
		x = strcmp(name, PEM_STRING_X509_TRUSTED) == 0 ?
		    d2i_X509_AUX(NULL, &p, len) : d2i_X509(NULL, &p, len);
		if (x == NULL || p != der + len) {
			X509_free(x);
			return err_ssl(e, "certificate %d does not parse",
			    sk_X509_num(certs) + 1);
		}
		if (sk_X509_num(certs) >= CERTS_MAX || sk_X509_push(certs, x) == 0) {
			X509_free(x);
			return err_set(e, "more than %d certificates", CERTS_MAX);
		}
	} else if (key != NULL && *key == NULL && is_key_block(name)) {
		if ((*key = d2i_AutoPrivateKey(NULL, &p, len)) == NULL)
			return err_ssl(e, "the private key does not parse");
	} else
		(*others)++;
	return 0;
}

static int
load_der(const uint8_t *data, size_t len, STACK_OF(X509) *certs, struct err *e)
{
	const uint8_t *p = data;
	X509 *x = NULL;

	if (len > LONG_MAX || (x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    p != data + len) {
		X509_free(x);
		ERR_clear_error();
		return err_set(e, "neither PEM nor a DER certificate");
	}
	if (sk_X509_push(certs, x) == 0) {
		X509_free(x);
		return err_set(e, "out of memory");
	}
	return 0;
}

int
audit_load_pem(const void *data, size_t len, STACK_OF(X509) *certs, EVP_PKEY **key,
    int *others, struct err *e)
{
	BIO *bio;
	char *name = NULL, *header = NULL;
	uint8_t *der = NULL;
	long derlen;
	int rc = 0;

	*others = 0;
	if (memmem(data, len, "-----BEGIN ", 11) == NULL)
		return load_der(data, len, certs, e);
	if (len > INT_MAX || (bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		return err_set(e, "out of memory");
	while (rc == 0) {
		if (PEM_read_bio(bio, &name, &header, &der, &derlen) != 1) {
			if (ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
				ERR_clear_error();
			else
				rc = err_ssl(e, "malformed PEM after certificate %d",
				    sk_X509_num(certs));
			break;
		}
		rc = take_block(name, der, derlen, certs, key, others, e);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_clear_free(der, (size_t)derlen);
		name = header = NULL;
		der = NULL;
	}
	BIO_free(bio);
	return rc;
}

/*
 * Reads path (following links: it is only read) into the walk's buffer.
 * Returns the length, or -1 with e set.
 */
static ssize_t
read_whole(struct walk *w, const char *path, struct err *e)
{
	struct stat st;
	size_t len = 0, need;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return err_set(e, "cannot read: %s", strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, "not a regular file");
	}
	if (st.st_size > FILE_CAP) {
		close(fd);
		return err_set(e, "larger than %d bytes", FILE_CAP);
	}
	need = (size_t)st.st_size + 1;	/* one more, to see a file that grew */
	if (need > w->cap) {
		uint8_t *p = realloc(w->data, need);

		if (p == NULL) {
			close(fd);
			return err_set(e, "out of memory");
		}
		w->data = p;
		w->cap = need;
	}
	while (len < w->cap && (n = read(fd, w->data + len, w->cap - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(e, "cannot read: %s", strerror(errno));
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len == w->cap)
		return err_set(e, "the file grew while it was read");
	return (ssize_t)len;
}

static void
clear_certs(STACK_OF(X509) *certs)
{
	X509 *x;

	while ((x = sk_X509_pop(certs)) != NULL)
		X509_free(x);
}

/*
 * One file.  named: given on the command line (a file without any
 * certificate is then reported; in a directory, a file of other PEM
 * blocks only, such as a private key, is skipped).
 */
static void
audit_one(struct walk *w, const char *path, int named)
{
	struct audit_line *line;
	ssize_t len;
	struct err e;
	int i, n, rc, others = 0;

	if ((len = read_whole(w, path, &e)) == -1) {
		audit_problem(audit_add(w->l, AUDIT_FILE, "%s", path), VERDICT_UNKNOWN,
		    "%s", e.msg);
		return;
	}
	if (len == 0) {
		audit_problem(audit_add(w->l, AUDIT_FILE, "%s", path), VERDICT_UNKNOWN,
		    "empty file");
		return;
	}
	rc = audit_load_pem(w->data, (size_t)len, w->certs, NULL, &others, &e);
	/* The file may hold a private key: wipe it before the next file. */
	OPENSSL_cleanse(w->data, (size_t)len);
	n = sk_X509_num(w->certs);
	if (n == 0 && rc == 0) {
		if (named || others == 0)
			audit_problem(audit_add(w->l, AUDIT_FILE, "%s", path),
			    VERDICT_UNKNOWN, "no certificate in the file%s",
			    others ? " (only other PEM blocks, such as keys)" : "");
		return;
	}
	for (i = 0; i < n; i++) {
		line = n > 1 || rc == -1 ? audit_add(w->l, AUDIT_FILE, "%s[%d]", path, i + 1) :
		    audit_add(w->l, AUDIT_FILE, "%s", path);
		audit_cert(w->a, line, sk_X509_value(w->certs, i));
	}
	if (rc == -1) {
		line = n > 0 ? audit_add(w->l, AUDIT_FILE, "%s[%d]", path, n + 1) :
		    audit_add(w->l, AUDIT_FILE, "%s", path);
		audit_problem(line, VERDICT_UNKNOWN, "%s", e.msg);
	}
	clear_certs(w->certs);
}

/* Certificate files by their name, in a directory. */
static int
cert_name(const char *name)
{
	static const char *const ext[] = { ".pem", ".crt", ".cer", ".cert", ".der" };
	size_t i, n = strlen(name), m;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		m = strlen(ext[i]);
		if (n > m && strcasecmp(name + n - m, ext[i]) == 0)
			return 1;
	}
	return 0;
}

static void walk_dir(struct walk *w, const char *dir, int depth);

static void
walk_entry(struct walk *w, const char *dir, const struct dirent *d, int depth)
{
	char path[PATH_MAX];
	struct stat st;
	int isdir, isreg;

	if (d->d_name[0] == '.')
		return;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) >= sizeof(path)) {
		audit_problem(audit_add(w->l, AUDIT_FILE, "%s/%s", dir, d->d_name),
		    VERDICT_UNKNOWN, "path too long");
		return;
	}
	isdir = d->d_type == DT_DIR;
	isreg = d->d_type == DT_REG;
	/* A link to a file is followed; a link to a directory is not (loops). */
	if (d->d_type == DT_LNK || d->d_type == DT_UNKNOWN) {
		if (stat(path, &st) == -1)
			st.st_mode = 0;
		isreg = S_ISREG(st.st_mode);
		isdir = d->d_type == DT_UNKNOWN && S_ISDIR(st.st_mode) &&
		    lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
		if (!isreg && !isdir && cert_name(d->d_name)) {
			audit_problem(audit_add(w->l, AUDIT_FILE, "%s", path),
			    VERDICT_UNKNOWN, "dangling link or not a regular file");
			return;
		}
	}
	if (isdir)
		walk_dir(w, path, depth + 1);
	else if (isreg && cert_name(d->d_name))
		audit_one(w, path, 0);
}

static void
walk_dir(struct walk *w, const char *dir, int depth)
{
	struct dirent *d;
	DIR *dp;

	if (depth > DEPTH_MAX) {
		audit_problem(audit_add(w->l, AUDIT_FILE, "%s", dir), VERDICT_UNKNOWN,
		    "more than %d directories deep: not read", DEPTH_MAX);
		return;
	}
	if ((dp = opendir(dir)) == NULL) {
		audit_problem(audit_add(w->l, AUDIT_FILE, "%s", dir), VERDICT_UNKNOWN,
		    "cannot read the directory: %s", strerror(errno));
		return;
	}
	while ((d = readdir(dp)) != NULL)
		walk_entry(w, dir, d, depth);
	closedir(dp);
}

void
audit_files(const struct audit_ctx *a, struct audit_list *l, char *const *paths,
    size_t n)
{
	struct walk w = { a, l, NULL, 0, sk_X509_new_null() };
	struct stat st;
	size_t i;

	if (w.certs == NULL) {
		l->oom = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
			walk_dir(&w, paths[i], 0);
		else
			audit_one(&w, paths[i], 1);
	}
	sk_X509_pop_free(w.certs, X509_free);
	free(w.data);
}
