#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bundle.h"
#include "fetch.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"

#define VALIDATORS_MAX	(HTTP_URL_MAX + HTTP_ETAG_MAX + 64)

int
fetch_url(const char *tmpl, const char *node, char *out, size_t size)
{
	size_t n = 0, nl = strlen(node);
	const char *p;

	for (p = tmpl; *p != '\0'; ) {
		if (strncmp(p, "{node}", 6) == 0) {
			if (size - n <= nl)
				return -1;
			memcpy(out + n, node, nl);
			n += nl;
			p += 6;
			continue;
		}
		if (size - n <= 1)
			return -1;
		out[n++] = *p++;
	}
	out[n] = '\0';
	return http_url_ok(out);
}

/* STATE_DIR/mirrors/HEX, HEX the SHA-256 of the URL.  0, or -1. */
static int
validators_path(const char *state_dir, const char *url, char *path, size_t size)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hex[65];
	size_t i;

	if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if ((size_t)snprintf(path, size, "%s/mirrors/%s", state_dir, hex) >= size)
		return -1;
	return 0;
}

/*
 * The validators kept for url; none (an unconditional GET) if the file
 * is missing, unreadable, for another URL or not in our format.
 */
static void
validators_load(const char *state_dir, const char *url, struct http_validators *v)
{
	char path[PATH_MAX], text[VALIDATORS_MAX + 1], u[HTTP_URL_MAX + 1];
	char etag[HTTP_ETAG_MAX + 1];
	struct buf b = { 0 };
	long long mtime;
	struct err e;

	v->etag[0] = '\0';
	v->last_modified = -1;
	if (validators_path(state_dir, url, path, sizeof(path)) == -1 ||
	    access(path, F_OK) == -1 || file_read(path, VALIDATORS_MAX, &b, &e) == -1)
		return;
	snprintf(text, sizeof(text), "%.*s", (int)b.len, (char *)b.data);
	buf_free(&b);
	if (sscanf(text, "url %1024s\netag %128s\nmodified %lld\n", u, etag, &mtime) != 3 ||
	    strcmp(u, url) != 0)
		return;
	if (strcmp(etag, "-") != 0)
		snprintf(v->etag, sizeof(v->etag), "%s", etag);
	v->last_modified = mtime < 0 ? -1 : mtime;
}

/* Keeps the validators of the bundle url gave.  0, or -1 with e set. */
static int
validators_save(const char *state_dir, const char *url, const struct http_validators *v,
    struct err *e)
{
	char path[PATH_MAX], text[VALIDATORS_MAX + 1];

	if (validators_path(state_dir, url, path, sizeof(path)) == -1)
		return err_set(e, "%s: path too long", state_dir);
	*strrchr(path, '/') = '\0';
	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", state_dir, strerror(errno));
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", path, strerror(errno));
	path[strlen(path)] = '/';
	snprintf(text, sizeof(text), "url %s\netag %s\nmodified %lld\n", url,
	    v->etag[0] ? v->etag : "-", v->last_modified);
	return file_write_atomic(path, text, strlen(text), geteuid(), getegid(), 0600, e);
}

/* An install that failed because of the bundle itself: try the next mirror. */
static int
refused_bundle(const struct outcome *o)
{
	return o->result == INSTALL_FAILED && strncmp(o->step, "verify:", 7) == 0;
}

/* One mirror: 304, a bundle through install_bundle, or a failure (logged). */
static enum fetch_result
fetch_one(const struct pullconf *c, const char *url, struct outcome *o)
{
	struct http_opts opts = { c->fetch.ca_file, (unsigned)c->fetch.timeout * 1000,
	    BUNDLE_MAX_SIZE };
	struct http_validators v;
	struct buf data = { 0 };
	enum http_result r;
	struct err e;

	validators_load(c->state_dir, url, &v);
	r = http_get(url, &opts, &v, &data, &e);
	if (r == HTTP_FAILED) {
		log_warnx("fetch: mirror %s: %s", url, e.msg);
		return FETCH_NONE;
	}
	if (r == HTTP_NOT_MODIFIED)
		return FETCH_NOT_MODIFIED;
	install_bundle(c, data.data, data.len, o);
	buf_free(&data);
	if (refused_bundle(o)) {
		log_warnx("fetch: mirror %s: bundle refused at %s: %s", url, o->step,
		    o->error);
		return FETCH_NONE;
	}
	/* Only a bundle now installed makes the next GET conditional. */
	if (o->result != INSTALL_FAILED && validators_save(c->state_dir, url, &v, &e) == -1)
		log_warnx("fetch: mirror %s: %s (the next fetch downloads again)", url,
		    e.msg);
	return FETCH_DONE;
}

enum fetch_result
fetch_mirrors(const struct pullconf *c, struct outcome *o, const char **url)
{
	static char u[HTTP_URL_MAX + 1];
	enum fetch_result r;
	size_t i;

	for (i = 0; i < c->fetch.nurls; i++) {
		if (fetch_url(c->fetch.urls[i], c->node, u, sizeof(u)) == -1) {
			log_warnx("fetch: urls[%zu]: too long with node \"%s\"", i, c->node);
			continue;
		}
		*url = u;
		if ((r = fetch_one(c, u, o)) != FETCH_NONE)
			return r;
	}
	return FETCH_NONE;
}
