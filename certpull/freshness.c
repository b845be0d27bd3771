#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "freshness.h"
#include "fsutil.h"
#include "json.h"

#define FRESHNESS_CAP	4096

static const char *const words[] = { "unchecked", "fresh", "stale", "inconsistent",
    "replayed", "invalid" };

const char *
freshness_word(enum fresh_verdict v)
{
	return (unsigned)v < sizeof(words) / sizeof(words[0]) ? words[v] : "invalid";
}

static int
word_verdict(const char *w, enum fresh_verdict *v)
{
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(w, words[i]) == 0) {
			*v = (enum fresh_verdict)i;
			return 0;
		}
	return -1;
}

/* The value after "key " on its own line of text, into out; -1 if absent. */
static int
field(const char *text, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key), n;
	const char *p = text;

	while (*p != '\0') {
		n = strcspn(p, "\n");
		if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			if (n - kl - 1 >= size)
				return -1;
			snprintf(out, size, "%.*s", (int)(n - kl - 1), p + kl + 1);
			return 0;
		}
		p += n + (p[n] == '\n');
	}
	return -1;
}

static int
field_u64(const char *text, const char *key, uint64_t *out)
{
	char v[32], *end;

	if (field(text, key, v, sizeof(v)) == -1 || v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

int
freshness_load(const char *state_dir, struct freshness *f, struct err *e)
{
	char path[PATH_MAX], text[FRESHNESS_CAP + 1], word[32];
	struct buf b = { 0 };
	uint64_t checked;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof(path), "%s/freshness", state_dir);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (file_read(path, FRESHNESS_CAP, &b, e) == -1)
		return -1;
	snprintf(text, sizeof(text), "%.*s", (int)b.len, b.data ? (char *)b.data : "");
	buf_free(&b);
	if (field_u64(text, "created", &f->seen_created) == -1 ||
	    field_u64(text, "serial", &f->seen_serial) == -1 ||
	    field_u64(text, "expires", &f->seen_expires) == -1 ||
	    field_u64(text, "checked", &checked) == -1 ||
	    field(text, "verdict", word, sizeof(word)) == -1 ||
	    word_verdict(word, &f->verdict) == -1 ||
	    field(text, "url", f->url, sizeof(f->url)) == -1 ||
	    field(text, "detail", f->detail, sizeof(f->detail)) == -1)
		return err_set(e, "%s: corrupt freshness state", path);
	f->have = f->seen_created != 0;
	f->checked = (time_t)checked;
	if (strcmp(f->url, "-") == 0)
		f->url[0] = '\0';
	if (strcmp(f->detail, "-") == 0)
		f->detail[0] = '\0';
	return 0;
}

int
freshness_save(const char *state_dir, const struct freshness *f, struct err *e)
{
	char path[PATH_MAX], text[FRESHNESS_CAP];
	int n;

	snprintf(path, sizeof(path), "%s/freshness", state_dir);
	/* Our own words and a checked URL: one line each, no newline inside. */
	n = snprintf(text, sizeof(text), "created %" PRIu64 "\nserial %" PRIu64
	    "\nexpires %" PRIu64 "\nchecked %lld\nverdict %s\nurl %s\ndetail %s\n",
	    f->have ? f->seen_created : 0, f->seen_serial, f->seen_expires,
	    (long long)f->checked, freshness_word(f->verdict), f->url[0] ? f->url : "-",
	    f->detail[0] ? f->detail : "-");
	if (n < 0 || (size_t)n >= sizeof(text) || strchr(f->detail, '\n') != NULL)
		return err_set(e, "%s: freshness state does not fit", path);
	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST)
		return err_set(e, "%s: %s", state_dir, strerror(errno));
	return file_write_atomic(path, text, (size_t)n, geteuid(), getegid(), 0600, e);
}

static void
iso(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t > (uint64_t)INT64_MAX || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%" PRIu64, t);
}

enum fresh_verdict
freshness_judge_stamp(struct freshness *f, const struct stamp *s, time_t now,
    char *why, size_t size)
{
	char a[32], b[32];

	if (f->have && s->created < f->seen_created) {
		iso(s->created, a);
		iso(f->seen_created, b);
		snprintf(why, size, "timestamp made %s, older than the one of %s already "
		    "seen (serial %" PRIu64 "): replayed, or a mirror far behind", a, b,
		    f->seen_serial);
		return FRESH_REPLAYED;
	}
	if (!f->have || s->created > f->seen_created) {
		f->have = 1;
		f->seen_created = s->created;
		f->seen_serial = s->serial;
		f->seen_expires = s->expires;
	}
	if ((uint64_t)now > s->expires) {
		iso(s->expires, a);
		snprintf(why, size, "timestamp expired at %s (serial %" PRIu64 "): the "
		    "mirror no longer follows the front (frozen or withheld)", a, s->serial);
		return FRESH_STALE;
	}
	iso(s->expires, a);
	snprintf(why, size, "timestamp valid until %s, serial %" PRIu64, a, s->serial);
	return FRESH_OK;
}

enum fresh_verdict
freshness_judge_bundle(const struct stamp *s, uint64_t served, const uint8_t *digest,
    char *why, size_t size)
{
	if (s->serial > served) {
		snprintf(why, size, "the timestamp names serial %" PRIu64 ", the mirror "
		    "serves serial %" PRIu64 ": an update withheld", s->serial, served);
		return FRESH_INCONSISTENT;
	}
	if (s->serial == served && digest != NULL &&
	    CRYPTO_memcmp(s->digest, digest, 32) != 0) {
		snprintf(why, size, "the timestamp names other content for serial %"
		    PRIu64 " than the bundle served", served);
		return FRESH_INCONSISTENT;
	}
	snprintf(why, size, "serves serial %" PRIu64 " as its timestamp says", served);
	return FRESH_OK;
}

/* The order of concern: a later verdict replaces an earlier one if worse. */
static int
rank(enum fresh_verdict v)
{
	static const int r[] = { 1, 0, 2, 3, 3, 3 };

	return (unsigned)v < sizeof(r) / sizeof(r[0]) ? r[v] : 3;
}

void
freshness_record(struct freshness *f, enum fresh_verdict v, const char *url,
    const char *detail, time_t now)
{
	if (f->recorded && rank(v) <= rank(f->verdict))
		return;
	f->recorded = 1;
	f->checked = now;
	f->verdict = v;
	snprintf(f->url, sizeof(f->url), "%s", url);
	snprintf(f->detail, sizeof(f->detail), "%s", detail);
	f->detail[strcspn(f->detail, "\n")] = '\0';
}

enum fresh_verdict
freshness_current(const struct freshness *f, time_t now, char *why, size_t size)
{
	char a[32], b[32];

	if (f->checked == 0) {
		snprintf(why, size, "no mirror judged yet");
		return FRESH_UNCHECKED;
	}
	iso((uint64_t)f->checked, b);
	if (f->verdict <= FRESH_OK && f->have && (uint64_t)now > f->seen_expires) {
		iso(f->seen_expires, a);
		snprintf(why, size, "the newest timestamp seen (serial %" PRIu64 ") "
		    "expired at %s; last fetch %s from %s", f->seen_serial, a, b, f->url);
		return FRESH_STALE;
	}
	snprintf(why, size, "%s at %s: %s", f->url, b, f->detail);
	return f->verdict;
}

int
freshness_json(const struct freshness *f, time_t now, struct buf *b)
{
	enum fresh_verdict v;
	char why[1024];
	int rc;

	v = freshness_current(f, now, why, sizeof(why));
	rc = buf_add_str(b, "\"freshness\":{") | json_kv_str(b, "state", freshness_word(v)) |
	    buf_add_u8(b, ',') | json_kv_str(b, "detail", why) |
	    buf_add_u8(b, ',') | json_kv_str(b, "url", f->url[0] ? f->url : NULL) |
	    buf_add_u8(b, ',') | json_kv_i64(b, "checked", (int64_t)f->checked) |
	    buf_add_u8(b, ',') | json_kv_u64(b, "timestamp_serial", f->seen_serial) |
	    buf_add_u8(b, ',') | json_kv_u64(b, "timestamp_created", f->seen_created) |
	    buf_add_u8(b, ',') | json_kv_u64(b, "timestamp_expires", f->seen_expires) |
	    buf_add_u8(b, '}');
	return rc ? -1 : 0;
}
