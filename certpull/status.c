#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cert.h"
#include "freshness.h"
#include "fsutil.h"
#include "json.h"
#include "jsonscan.h"
#include "log.h"
#include "render.h"
#include "state.h"
#include "status.h"

#define FILE_CAP	(1024 * 1024)

struct file_info {
	char	subject[256];
	char	names[512];
	char	not_after[32];
	char	fpr[CERT_FPR_LEN];
	char	key[64];
	char	error[256];
};

static void
describe_file(const struct svc_file *f, struct file_info *fi)
{
	struct buf b = { .secret = 1 };
	struct err e;
	EVP_PKEY *key;
	X509 *x;

	memset(fi, 0, sizeof(*fi));
	if (file_read(f->path, FILE_CAP, &b, &e) == -1) {
		snprintf(fi->error, sizeof(fi->error), "%s", e.msg);
		return;
	}
	if (f->format == FMT_KEY || f->format == FMT_DKIM) {
		if ((key = cert_parse_key(b.data, b.len, &e)) == NULL)
			snprintf(fi->error, sizeof(fi->error), "%s", e.msg);
		else
			cert_key_desc(key, fi->key, sizeof(fi->key));
		EVP_PKEY_free(key);
	} else if ((x = render_leaf_of(f, &b)) == NULL)
		snprintf(fi->error, sizeof(fi->error), f->format == FMT_PKCS12 ?
		    "cannot open the PKCS#12 file" : "no certificate in the file");
	else {
		time_t t = cert_not_after(x);
		struct tm tm;

		cert_subject(x, fi->subject, sizeof(fi->subject));
		cert_dns_names(x, fi->names, sizeof(fi->names));
		cert_fingerprint(x, fi->fpr);
		strftime(fi->not_after, sizeof(fi->not_after), "%Y-%m-%dT%H:%M:%SZ",
		    gmtime_r(&t, &tm));
		X509_free(x);
	}
	buf_free(&b);
}

static void
print_text_file(const struct service *s, const struct svc_file *f,
    const struct file_info *fi)
{
	printf("  %s %s (%s, %s)\n", s->name, f->path, f->item, format_name(f->format));
	if (fi->error[0] != '\0')
		printf("    error: %s\n", fi->error);
	else if (fi->key[0] != '\0')
		printf("    key: %s\n", fi->key);
	else
		printf("    subject: %s\n    names: %s\n    notAfter: %s\n"
		    "    sha256: %s\n", fi->subject, fi->names, fi->not_after, fi->fpr);
}

static int
json_file(struct buf *b, const struct service *s, const struct svc_file *f,
    const struct file_info *fi)
{
	int rc = 0;

	rc |= buf_add_u8(b, '{');
	rc |= json_kv_str(b, "service", s->name);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "path", f->path);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "item", f->item);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "format", format_name(f->format));
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "subject", fi->subject[0] ? fi->subject : NULL);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "names", fi->subject[0] ? fi->names : NULL);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "not_after", fi->not_after[0] ? fi->not_after : NULL);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "sha256", fi->fpr[0] ? fi->fpr : NULL);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "key", fi->key[0] ? fi->key : NULL);
	rc |= buf_add_u8(b, ',');
	rc |= json_kv_str(b, "error", fi->error[0] ? fi->error : NULL);
	rc |= buf_add_u8(b, '}');
	return rc;
}

/* The last outcome as stored (one JSON line), or "null". */
static void
last_outcome(const struct pullconf *c, struct buf *out)
{
	char path[PATH_MAX];
	struct err e;

	snprintf(path, sizeof(path), "%s/last-outcome.json", c->state_dir);
	if (file_read(path, 64 * 1024, out, &e) == -1 || out->len == 0) {
		buf_free(out);
		buf_add_str(out, "null");
	}
	while (out->len > 0 && out->data[out->len - 1] == '\n')
		out->len--;
}

/* The last outcome's fields that its text shows, and its lines so far. */
struct last_text {
	char		result[16];
	char		step[32];
	char		error[512];
	char		files[24];
	char		serial[24];
	char		time[24];
	struct buf	lines;		/* one per service and endpoint */
};

/* Copies value into dst, control characters as '?': a line stays a line. */
static void
copy_plain(char *dst, size_t size, const char *value)
{
	size_t i;

	snprintf(dst, size, "%s", value);
	for (i = 0; dst[i] != '\0'; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

static void
on_last(void *arg, const char *path, const char *value, int is_string)
{
	static const struct { const char *path, *before, *after; } parts[] = {
		{ "services.name", "\n  service ", "" },
		{ "services.result", ": ", "" },
		{ "services.detail", " (", ")" },
		{ "served.endpoint", "\n  endpoint ", "" },
		{ "served.fingerprint", " served ", "" },
	};
	struct last_text *l = arg;
	char v[512];
	size_t i;

	copy_plain(v, sizeof(v), value);
	if (strcmp(path, "result") == 0)
		snprintf(l->result, sizeof(l->result), "%s", v);
	else if (strcmp(path, "step") == 0 && is_string)
		snprintf(l->step, sizeof(l->step), "%s", v);
	else if (strcmp(path, "error") == 0 && is_string)
		snprintf(l->error, sizeof(l->error), "%s", v);
	else if (strcmp(path, "files") == 0 && is_string)
		snprintf(l->files, sizeof(l->files), "%s", v);
	else if (strcmp(path, "serial") == 0)
		snprintf(l->serial, sizeof(l->serial), "%s", v);
	else if (strcmp(path, "time") == 0)
		snprintf(l->time, sizeof(l->time), "%s", v);
	else if (strcmp(path, "served.ok") == 0)
		buf_add_str(&l->lines, strcmp(v, "true") == 0 ? " (expected)" :
		    " (NOT the expected certificate)");
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (strcmp(path, parts[i].path) == 0 && (v[0] != '\0' || i != 2)) {
			buf_add_str(&l->lines, parts[i].before);
			buf_add_str(&l->lines, v[0] ? v : "nothing");
			buf_add_str(&l->lines, parts[i].after);
		}
}

/* The stored last outcome as text: what happened, when, and to what. */
static void
print_last_text(const struct buf *last)
{
	static const struct { const char *word, *text; } left[] = {
		{ "untouched", "nothing changed" },
		{ "restored", "previous files restored" },
		{ "restore-pending", "the next run restores the previous files" },
	};
	struct last_text l = { .lines = { 0 } };
	char when[32] = "?";
	time_t t;
	struct tm tm;
	size_t i;

	if (last->len == 4 && memcmp(last->data, "null", 4) == 0) {
		printf("last install: none\n");
		return;
	}
	if (json_scan((const char *)last->data, last->len, on_last, &l) == -1) {
		printf("last install: unreadable (not one JSON object)\n");
		buf_free(&l.lines);
		return;
	}
	t = (time_t)strtoll(l.time, NULL, 10);
	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (strcmp(l.result, "failed") == 0) {
		printf("last install: failed at %s, %s: %s", when, l.step, l.error);
		for (i = 0; i < sizeof(left) / sizeof(left[0]); i++)
			if (strcmp(l.files, left[i].word) == 0)
				printf(" (%s)", left[i].text);
	} else
		printf("last install: %s serial %s at %s", l.result, l.serial, when);
	printf("%.*s\n", (int)l.lines.len, l.lines.len ? (char *)l.lines.data : "");
	buf_free(&l.lines);
}

/*
 * With mirrors, the freshness state: a "freshness:" line, or in JSON a
 * "freshness" member appended to b.  0 if something was added, else -1.
 */
static int
status_freshness(const struct pullconf *c, int json, struct buf *b)
{
	struct freshness f;
	char why[1024];
	struct err e;
	enum fresh_verdict v;

	if (c->fetch.nurls == 0)
		return -1;
	if (freshness_load(c->state_dir, &f, &e) == -1) {
		log_warnx("%s", e.msg);
		return -1;
	}
	if (json)
		return freshness_json(&f, time(NULL), b);
	v = freshness_current(&f, time(NULL), why, sizeof(why));
	printf("freshness: %s (%s)\n", freshness_word(v), why);
	return -1;
}

int
print_status(const struct pullconf *c, int json)
{
	struct pullstate st;
	struct file_info fi;
	struct buf b = { 0 }, last = { 0 };
	char id[2 * SIG_KEYID_LEN + 1] = "";
	struct err e;
	size_t i, j, n = 0;

	if (pullstate_load(c->state_dir, &st, &e) == -1) {
		log_warnx("%s", e.msg);
		return 1;
	}
	if (st.have)
		sig_keyid_hex(st.keyid, id);
	last_outcome(c, &last);
	if (!json)
		printf("node %s\ninstalled serial %llu%s%s\nfiles:\n", c->node,
		    (unsigned long long)st.serial, st.have ? ", signed by key " : " (none)",
		    id);
	buf_add_str(&b, "{");
	json_kv_str(&b, "node", c->node);
	buf_add_u8(&b, ',');
	json_kv_u64(&b, "serial", st.have ? st.serial : 0);
	buf_add_u8(&b, ',');
	json_kv_str(&b, "signer", st.have ? id : NULL);
	buf_add_str(&b, ",\"files\":[");
	for (i = 0; i < c->nservices; i++)
		for (j = 0; j < c->services[i].nfiles; j++) {
			describe_file(&c->services[i].files[j], &fi);
			if (!json)
				print_text_file(&c->services[i], &c->services[i].files[j], &fi);
			if (n++ > 0)
				buf_add_u8(&b, ',');
			json_file(&b, &c->services[i], &c->services[i].files[j], &fi);
		}
	buf_add_str(&b, "],\"last\":");
	buf_add(&b, last.data, last.len);
	buf_add_u8(&b, ',');
	if (json && status_freshness(c, 1, &b) == 0)
		buf_add_u8(&b, ',');
	json_kv_str(&b, "version", CP_VERSION);
	buf_add_str(&b, "}\n");
	if (json)
		fwrite(b.data, 1, b.len, stdout);
	else {
		print_last_text(&last);
		status_freshness(c, 0, NULL);
	}
	buf_free(&b);
	buf_free(&last);
	return 0;
}
