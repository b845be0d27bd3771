#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "bundle.h"
#include "fetch.h"
#include "freshness.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"
#include "nodeverify.h"
#include "stamp.h"
#include "state.h"

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
 * The validators kept for url, and the serial of the bundle they belong
 * to; none (an unconditional GET) if the file is missing, unreadable,
 * for another URL or not in our format.
 */
static void
validators_load(const char *state_dir, const char *url, struct http_validators *v,
    unsigned long long *serial)
{
	char path[PATH_MAX], text[VALIDATORS_MAX + 1], u[HTTP_URL_MAX + 1];
	char etag[HTTP_ETAG_MAX + 1];
	struct buf b = { 0 };
	long long mtime;
	struct err e;

	v->etag[0] = '\0';
	v->last_modified = -1;
	*serial = 0;
	if (validators_path(state_dir, url, path, sizeof(path)) == -1 ||
	    access(path, F_OK) == -1 || file_read(path, VALIDATORS_MAX, &b, &e) == -1)
		return;
	snprintf(text, sizeof(text), "%.*s", (int)b.len, (char *)b.data);
	buf_free(&b);
	if (sscanf(text, "url %1024s\netag %128s\nmodified %lld\nserial %llu\n", u, etag,
	    &mtime, serial) != 4 || strcmp(u, url) != 0) {
		*serial = 0;
		return;
	}
	if (strcmp(etag, "-") != 0)
		snprintf(v->etag, sizeof(v->etag), "%s", etag);
	v->last_modified = mtime < 0 ? -1 : mtime;
}

/* Keeps the validators of the bundle url gave.  0, or -1 with e set. */
static int
validators_save(const char *state_dir, const char *url, const struct http_validators *v,
    uint64_t serial, struct err *e)
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
	snprintf(text, sizeof(text), "url %s\netag %s\nmodified %lld\nserial %llu\n", url,
	    v->etag[0] ? v->etag : "-", v->last_modified, (unsigned long long)serial);
	return file_write_atomic(path, text, strlen(text), geteuid(), getegid(), 0600, e);
}

/* A failure before install_bundle, in an outcome's words.  Returns -1. */
static int
fail_step(struct outcome *o, const char *step, const char *msg)
{
	o->result = INSTALL_FAILED;
	o->files = FILES_UNTOUCHED;
	snprintf(o->step, sizeof(o->step), "%s", step);
	snprintf(o->error, sizeof(o->error), "%s", msg);
	return -1;
}

/*
 * The checks of install's first step, before install_bundle is called:
 * a mirror's garbage, another node's bundle or an older one is refused
 * here without taking the lock or becoming the node's last outcome
 * (certpull status).  install_bundle checks again under its lock.  0, or
 * -1 with o's step and error set.
 */
static int
precheck(const struct pullconf *c, const struct buf *data, struct outcome *o)
{
	char step[NODE_STEP_LEN];
	struct bundle *b;
	struct err e;
	int unchanged, rc;

	memset(o, 0, sizeof(*o));
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return fail_step(o, "memory", "out of memory");
	rc = node_verify(c, data->data, data->len, 0, b, NULL, &unchanged, step, &e);
	bundle_release(b);
	free(b);
	return rc == 0 ? 0 : fail_step(o, step, e.msg);
}

/* An install that failed because of the bundle itself: try the next mirror. */
static int
refused_bundle(const struct outcome *o)
{
	return o->result == INSTALL_FAILED && strncmp(o->step, "verify:", 7) == 0;
}

/*
 * A 304: the mirror still serves the bundle of serial had.  Unchanged if
 * it is at least as new as the installed one; if the node has a newer
 * one since (pushed, or from another mirror), the mirror is behind: it
 * is reported, and the next one tried.
 */
static enum fetch_result
not_modified(const struct pullconf *c, const char *url, unsigned long long had)
{
	struct pullstate st;
	struct err e;

	if (pullstate_load(c->state_dir, &st, &e) == -1) {
		log_warnx("fetch: %s", e.msg);
		return FETCH_NONE;
	}
	if (st.have && had < st.serial) {
		log_warnx("fetch: mirror %s: not modified since serial %llu, older than "
		    "the installed serial %llu", url, had, (unsigned long long)st.serial);
		return FETCH_NONE;
	}
	return FETCH_NOT_MODIFIED;
}

int
fetch_stamp_url(const char *url, char *out, size_t size)
{
	size_t n = strlen(url);

	if (n > 7 && strcmp(url + n - 7, ".bundle") == 0)
		n -= 7;
	if ((size_t)snprintf(out, size, "%.*s.timestamp", (int)n, url) >= size)
		return -1;
	return http_url_ok(out);
}

/*
 * The timestamp beside the mirror's bundle, verified and judged.  0 if
 * the mirror may be used (*have: a timestamp is in ts), or -1 with *v and
 * why saying why not.
 */
static int
mirror_stamp(const struct pullconf *c, const char *url, struct freshness *fr,
    struct stamp *ts, int *have, enum fresh_verdict *v, char *why, size_t size)
{
	struct http_opts opts = { c->fetch.ca_file, (unsigned)c->fetch.timeout * 1000,
	    STAMP_MAX_SIZE };
	struct http_validators none = { "", -1 };
	char tu[HTTP_URL_MAX + 1] = "";
	struct buf b = { 0 };
	struct err e;
	int rc;

	*have = 0;
	*v = FRESH_UNCHECKED;
	if (fetch_stamp_url(url, tu, sizeof(tu)) == -1)
		snprintf(e.msg, sizeof(e.msg), "no timestamp URL fits");
	else if (http_get(tu, &opts, &none, &b, &e) == HTTP_BODY)
		*have = 1;
	if (!*have) {
		buf_free(&b);
		snprintf(why, size, "no timestamp at %s: %s", tu, e.msg);
		if (!c->fetch.require_timestamp)
			return 0;
		*v = FRESH_STALE;
		return -1;
	}
	rc = stamp_verify(b.data, b.len, c->trusted, c->ntrusted, c->node, ts, &e);
	buf_free(&b);
	if (rc == -1) {
		*have = 0;
		*v = FRESH_INVALID;
		snprintf(why, size, "%s: %s", tu, e.msg);
		return -1;
	}
	*v = freshness_judge_stamp(fr, ts, time(NULL), why, size);
	return *v == FRESH_OK ? 0 : -1;
}

/*
 * The bundle served (data, or with a 304 the one of serial had) against
 * the mirror's timestamp.  0, or -1 with *v and why set.
 */
static int
mirror_consistent(const struct stamp *ts, const struct buf *data,
    unsigned long long had, enum fresh_verdict *v, char *why, size_t size)
{
	uint8_t md[32];
	uint64_t served;

	if (data == NULL && had == 0) {
		*v = FRESH_INCONSISTENT;
		snprintf(why, size, "the timestamp names serial %llu, the mirror answers "
		    "304 Not Modified for a bundle it never gave",
		    (unsigned long long)ts->serial);
	} else if (data == NULL)
		*v = freshness_judge_bundle(ts, had, NULL, why, size);
	else if (stamp_bundle_serial(data->data, data->len, &served) == -1)
		return 0;	/* not a bundle: the verification says why */
	else {
		SHA256(data->data, data->len, md);
		*v = freshness_judge_bundle(ts, served, md, why, size);
	}
	return *v == FRESH_OK ? 0 : -1;
}

/* A mirror that failed a freshness check: reported and recorded. */
static enum fetch_result
not_fresh(struct freshness *fr, const char *url, enum fresh_verdict v, const char *why)
{
	log_warnx("fetch: mirror %s: %s: %s", url, freshness_word(v), why);
	freshness_record(fr, v, url, why, time(NULL));
	return FETCH_NONE;
}

/*
 * One mirror: its timestamp judged, then a 304, a bundle through
 * install_bundle, or a failure (logged).
 */
static enum fetch_result
fetch_one(const struct pullconf *c, const char *url, struct freshness *fr,
    struct outcome *o)
{
	struct http_opts opts = { c->fetch.ca_file, (unsigned)c->fetch.timeout * 1000,
	    BUNDLE_MAX_SIZE };
	struct http_validators v;
	unsigned long long had;
	struct buf data = { 0 };
	struct stamp ts;
	enum http_result r;
	enum fresh_verdict fv;
	enum fetch_result nm;
	char why[512], served[512];
	struct err e;
	int have_ts;

	if (mirror_stamp(c, url, fr, &ts, &have_ts, &fv, why, sizeof(why)) == -1)
		return not_fresh(fr, url, fv, why);
	validators_load(c->state_dir, url, &v, &had);
	r = http_get(url, &opts, &v, &data, &e);
	/*
	 * A 304 for an older bundle than the timestamp names: ask once more
	 * without conditions, as some servers answer 304 on the date alone
	 * (s3rver, when the new object has the old one's second).
	 */
	if (r == HTTP_NOT_MODIFIED && have_ts && ts.serial > had) {
		v = (struct http_validators){ "", -1 };
		r = http_get(url, &opts, &v, &data, &e);
	}
	if (r == HTTP_FAILED) {
		log_warnx("fetch: mirror %s: %s", url, e.msg);
		return FETCH_NONE;
	}
	/* On success, why keeps the timestamp's own words (valid until...). */
	if (have_ts && mirror_consistent(&ts, r == HTTP_NOT_MODIFIED ? NULL : &data,
	    had, &fv, served, sizeof(served)) == -1) {
		buf_free(&data);
		return not_fresh(fr, url, fv, served);
	}
	if (r == HTTP_NOT_MODIFIED) {
		if ((nm = not_modified(c, url, had)) != FETCH_NONE)
			freshness_record(fr, fv, url, why, time(NULL));
		return nm;
	}
	if (precheck(c, &data, o) == 0)
		install_bundle(c, data.data, data.len, 0, o);
	buf_free(&data);
	if (refused_bundle(o)) {
		log_warnx("fetch: mirror %s: bundle refused at %s: %s", url, o->step,
		    o->error);
		return FETCH_NONE;
	}
	freshness_record(fr, fv, url, why, time(NULL));
	/* Only a bundle now installed makes the next GET conditional. */
	if (o->result != INSTALL_FAILED &&
	    validators_save(c->state_dir, url, &v, o->serial, &e) == -1)
		log_warnx("fetch: mirror %s: %s (the next fetch downloads again)", url,
		    e.msg);
	return FETCH_DONE;
}

enum fetch_result
fetch_mirrors(const struct pullconf *c, struct outcome *o, const char **url)
{
	static char u[HTTP_URL_MAX + 1];
	struct freshness fr;
	enum fetch_result r = FETCH_NONE;
	struct err e;
	size_t i;

	if (freshness_load(c->state_dir, &fr, &e) == -1) {
		/* Replays cannot be told apart without it: start again, loudly. */
		log_warnx("fetch: %s (starting a new one)", e.msg);
		memset(&fr, 0, sizeof(fr));
	}
	for (i = 0; i < c->fetch.nurls && r == FETCH_NONE; i++) {
		if (fetch_url(c->fetch.urls[i], c->node, u, sizeof(u)) == -1) {
			log_warnx("fetch: urls[%zu]: too long with node \"%s\"", i, c->node);
			continue;
		}
		*url = u;
		r = fetch_one(c, u, &fr, o);
	}
	if (freshness_save(c->state_dir, &fr, &e) == -1)
		log_warnx("fetch: %s", e.msg);
	return r;
}
