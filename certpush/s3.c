#include <sys/stat.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bundle.h"
#include "fsutil.h"
#include "http.h"
#include "s3.h"

#define S3_CREDS_MAX	4096	/* bytes of a credentials file */
#define S3_PREFIX_MAX	200

static const char *const s3_keys[] = { "endpoint", "bucket", "region", "prefix",
    "credentials_file", "ca_file", "timeout", NULL };
static const char *const s3_required[] = { "endpoint", "region",
    "credentials_file", NULL };

/* Whether every character of s is in set (or alphanumeric, with alnum). */
static int
chars_in(const char *s, const char *set, int lower_only)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    (!lower_only && ch >= 'A' && ch <= 'Z') || strchr(set, ch) != NULL)
			continue;
		return 0;
	}
	return 1;
}

/* S3's bucket names: 3 to 63 of a-z 0-9 . -, a letter or digit at each end. */
static int
bucket_ok(const char *b)
{
	size_t n = strlen(b);

	return n >= 3 && n <= 63 && chars_in(b, ".-", 1) && isalnum((unsigned char)b[0]) &&
	    isalnum((unsigned char)b[n - 1]);
}

/* A key prefix: A-Z a-z 0-9 . _ - /, no leading "/", no "//" nor "..". */
static int
prefix_ok(const char *p)
{
	return strlen(p) <= S3_PREFIX_MAX && chars_in(p, "._-/", 0) && p[0] != '/' &&
	    strstr(p, "//") == NULL && strstr(p, "..") == NULL;
}

static int
check_s3(struct yconf *y, yaml_node_t *n, struct s3_conf *s)
{
	size_t len;

	if (http_url_ok(s->endpoint) == -1 || strchr(s->endpoint, '?') != NULL ||
	    strchr(s->endpoint, '#') != NULL)
		return yconf_error(y, yconf_get(y, n, "endpoint"), "s3.endpoint",
		    "\"%.200s\" is not an https:// URL without query", s->endpoint);
	/* One slash between the endpoint and the bucket. */
	while ((len = strlen(s->endpoint)) > 8 && s->endpoint[len - 1] == '/')
		s->endpoint[len - 1] = '\0';
	if (s->bucket != NULL && !bucket_ok(s->bucket))
		return yconf_error(y, yconf_get(y, n, "bucket"), "s3.bucket",
		    "\"%s\" is not a bucket name (3 to 63 of a-z, 0-9, '.', '-')",
		    s->bucket);
	if (strlen(s->region) > 32 || s->region[0] == '\0' || !chars_in(s->region, "-", 1))
		return yconf_error(y, yconf_get(y, n, "region"), "s3.region",
		    "\"%s\" is not a region name (a-z, 0-9, '-')", s->region);
	if (!prefix_ok(s->prefix))
		return yconf_error(y, yconf_get(y, n, "prefix"), "s3.prefix",
		    "\"%s\": a prefix has at most %d of A-Z, a-z, 0-9, '.', '_', '-', "
		    "'/', no leading '/', no \"//\" or \"..\"", s->prefix, S3_PREFIX_MAX);
	if (s->credentials_file[0] != '/')
		return yconf_error(y, yconf_get(y, n, "credentials_file"),
		    "s3.credentials_file", "\"%s\" must be absolute", s->credentials_file);
	if (s->ca_file != NULL && s->ca_file[0] != '/')
		return yconf_error(y, yconf_get(y, n, "ca_file"), "s3.ca_file",
		    "\"%s\" must be absolute", s->ca_file);
	return 0;
}

int
s3conf_load(struct yconf *y, yaml_node_t *root, struct s3_conf *s)
{
	yaml_node_t *n = yconf_get(y, root, "s3");

	memset(s, 0, sizeof(*s));
	s->timeout = 30;
	if (n == NULL)
		return 0;
	if (yconf_map(y, n, "s3", s3_keys, s3_required) == -1 ||
	    yconf_str(y, n, "s3", "endpoint", &s->endpoint) == -1 ||
	    yconf_str(y, n, "s3", "bucket", &s->bucket) == -1 ||
	    yconf_str(y, n, "s3", "region", &s->region) == -1 ||
	    yconf_str(y, n, "s3", "prefix", &s->prefix) == -1 ||
	    yconf_str(y, n, "s3", "credentials_file", &s->credentials_file) == -1 ||
	    yconf_str(y, n, "s3", "ca_file", &s->ca_file) == -1 ||
	    yconf_uint(y, n, "s3", "timeout", 1, 600, &s->timeout) == -1)
		return -1;
	if (s->prefix == NULL && (s->prefix = strdup("")) == NULL)
		return err_set(y->e, "out of memory");
	return check_s3(y, n, s);
}

void
s3conf_free(struct s3_conf *s)
{
	free(s->endpoint);
	free(s->bucket);
	free(s->region);
	free(s->prefix);
	free(s->credentials_file);
	free(s->ca_file);
	memset(s, 0, sizeof(*s));
}

int
s3_url_ext(const struct s3_conf *s, const char *name, const char *ext, char *out,
    size_t size)
{
	int n = snprintf(out, size, "%s/%s%s%s%s%s", s->endpoint,
	    s->bucket ? s->bucket : "", s->bucket ? "/" : "", s->prefix, name, ext);

	return n < 0 || (size_t)n >= size || http_url_ok(out) == -1 ? -1 : 0;
}

int
s3_url(const struct s3_conf *s, const char *name, char *out, size_t size)
{
	return s3_url_ext(s, name, ".bundle", out, size);
}

/* One "key = value" line of a credentials file into cr. */
static int
creds_line(const char *file, int lineno, char *line, struct s3_creds *cr,
    int *seen, struct err *e)
{
	char *eq = strchr(line, '='), *key = line, *val, *end;
	char *dst;

	if (eq == NULL)
		return err_set(e, "%s:%d: expected \"aws_access_key_id = ...\" or "
		    "\"aws_secret_access_key = ...\"", file, lineno);
	*eq = '\0';
	val = eq + 1;
	for (end = eq; end > key && isspace((unsigned char)end[-1]); end--)
		end[-1] = '\0';
	while (isspace((unsigned char)*val))
		val++;
	if (strcmp(key, "aws_access_key_id") == 0)
		dst = cr->access_key, *seen |= 1;
	else if (strcmp(key, "aws_secret_access_key") == 0)
		dst = cr->secret_key, *seen |= 2;
	else
		return err_set(e, "%s:%d: unknown key \"%.40s\"", file, lineno, key);
	/* Printable, no space; the id also no ':', which ends it for libcurl. */
	if (val[0] == '\0' || strlen(val) > S3_KEY_MAX ||
	    strspn(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=_-.~") != strlen(val))
		return err_set(e, "%s:%d: %s must be 1 to %d of A-Z, a-z, 0-9, "
		    "'+', '/', '=', '_', '-', '.', '~'", file, lineno, key, S3_KEY_MAX);
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

int
s3_creds_parse(const char *file, const char *text, size_t len, struct s3_creds *cr,
    struct err *e)
{
	char line[S3_KEY_MAX + 64];
	const char *p = text, *nl, *end = text + len;
	int lineno = 0, seen = 0, rc = 0;
	size_t n;

	memset(cr, 0, sizeof(*cr));
	for (; p < end && rc == 0; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((n = (size_t)(nl - p)) >= sizeof(line)) {
			rc = err_set(e, "%s:%d: line too long", file, lineno);
			break;
		}
		if (memchr(p, '\0', n) != NULL) {
			rc = err_set(e, "%s:%d: a NUL byte", file, lineno);
			break;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		while (n > 0 && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		n = strspn(line, " \t");
		if (line[n] != '\0' && line[n] != '#' && strcmp(line + n, "[default]") != 0)
			rc = creds_line(file, lineno, line + n, cr, &seen, e);
	}
	OPENSSL_cleanse(line, sizeof(line));
	if (rc == 0 && seen != 3)
		rc = err_set(e, "%s: needs aws_access_key_id and aws_secret_access_key", file);
	if (rc == -1)
		s3_creds_wipe(cr);
	return rc;
}

void
s3_creds_wipe(struct s3_creds *cr)
{
	OPENSSL_cleanse(cr, sizeof(*cr));
}

static int
creds_load(const char *path, struct s3_creds *cr, struct err *e)
{
	struct buf b = { .secret = 1 };
	struct stat st;
	int rc;

	if (file_read_stat(path, S3_CREDS_MAX, &b, &st, e) == -1)
		return -1;
	rc = stat_check_secret(path, &st, e) == -1 ? -1 :
	    s3_creds_parse(path, (const char *)b.data, b.len, cr, e);
	buf_free(&b);
	return rc;
}

int
s3_publish_ext(const struct s3_conf *s, const char *name, const char *ext,
    const struct buf *b, struct err *e)
{
	struct http_opts o = { s->ca_file, (unsigned)s->timeout * 1000, 64 * 1024 };
	struct s3_creds cr;
	struct s3_auth a;
	char url[HTTP_URL_MAX + 1];
	struct err why;
	int rc;

	if (s3_url_ext(s, name, ext, url, sizeof(url)) == -1)
		return err_set(e, "s3: the URL of %s%s is too long", name, ext);
	if (creds_load(s->credentials_file, &cr, e) == -1)
		return -1;
	a = (struct s3_auth){ s->region, cr.access_key, cr.secret_key };
	rc = http_put_s3(url, &o, &a, b->data, b->len, &why);
	s3_creds_wipe(&cr);
	if (rc == -1)
		return err_set(e, "s3 PUT %s: %s", url, why.msg);
	return 0;
}

int
s3_publish(const struct s3_conf *s, const char *name, const struct buf *b,
    struct err *e)
{
	return s3_publish_ext(s, name, ".bundle", b, e);
}
