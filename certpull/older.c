#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>

#include "buf.h"
#include "cert.h"
#include "fsutil.h"
#include "older.h"
#include "render.h"
#include "txn.h"

/* "AB:CD:EF:01", enough to tell two certificates apart in a message. */
#define SHORT_FPR	11

/* notBefore of x as "2026-11-01 12:00:00 UTC" (or "unknown"). */
static void
issued(X509 *x, char out[32])
{
	time_t t = cert_not_before(x);
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, 32, "unknown");
}

int
older_compare(const char *item, const char *path, X509 *installed, X509 *incoming,
    struct err *e)
{
	char was[32], now[32], fold[CERT_FPR_LEN], fnew[CERT_FPR_LEN];

	/* -1: incoming strictly earlier; -2 (a date does not parse): no rule. */
	if (ASN1_TIME_compare(X509_get0_notBefore(incoming),
	    X509_get0_notBefore(installed)) != -1)
		return 0;
	issued(incoming, now);
	issued(installed, was);
	cert_fingerprint(incoming, fnew);
	cert_fingerprint(installed, fold);
	return err_set(e, "%s: certificate issued %s (%.*s) is older than the "
	    "installed one issued %s (%.*s) in %s (rollback refused; certpull "
	    "install --allow-older forces it)", item, now, SHORT_FPR, fnew, was,
	    SHORT_FPR, fold, path);
}

/* Formats whose file starts with the item's leaf (a chain file does not). */
static int
holds_leaf(enum file_format f)
{
	return f != FMT_DKIM && f != FMT_KEY && f != FMT_CHAIN;
}

/*
 * The leaf installed in f, read as install reads it (never through a
 * symlink, a regular file only, capped).  NULL when there is none to
 * compare with: a missing file (a first install), an unreadable one (the
 * install itself reports it when it reads the file at its render step),
 * or one that holds no certificate (garbage, a pkcs12 whose password
 * file cannot be read): then no rule applies to this file.
 */
static X509 *
installed_leaf(const struct svc_file *f)
{
	struct buf content = { .secret = 1 };
	struct err ignored;
	X509 *x = NULL;

	if (file_read(f->path, TXN_FILE_CAP, &content, &ignored) == 0)
		x = render_leaf_of(f, &content);
	buf_free(&content);
	return x;
}

/* older_compare for one file; 0 when either leaf is missing. */
static int
check_file(const struct svc_file *f, const struct bundle *b,
    const struct bundle_parsed *p, struct err *e)
{
	X509 *old, *new;
	int rc = 0;

	/* An item missing from the bundle is render's error, not ours. */
	if ((new = render_bundle_leaf(b, p, f->item)) == NULL)
		return 0;
	if ((old = installed_leaf(f)) != NULL)
		rc = older_compare(f->item, f->path, old, new, e);
	X509_free(old);
	X509_free(new);
	return rc;
}

int
older_check(const struct pullconf *c, const struct bundle *b,
    const struct bundle_parsed *p, struct err *e)
{
	size_t i, j;

	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < c->services[i].nfiles; j++)
			if (holds_leaf(c->services[i].files[j].format) &&
			    check_file(&c->services[i].files[j], b, p, e) == -1)
				return -1;
	return 0;
}
