#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "deliver.h"
#include "jsonscan.h"
#include "run.h"
#include "ssh.h"

const char *
delivery_result_name(enum delivery_result r)
{
	switch (r) {
	case DELIVERY_INSTALLED:
		return "installed";
	case DELIVERY_UNCHANGED:
		return "unchanged";
	case DELIVERY_VERIFIED:
		return "verified";
	case DELIVERY_FAILED:
		break;
	}
	return "failed";
}

/*
 * Copies a node's text into dst (size > 0) for a terminal or a log line:
 * control characters and backslashes become \xNN, the rest is cut at
 * size - 1 bytes, never inside an escape.
 */
void
node_text(char *dst, size_t size, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)src[i];

		if (ch >= 0x20 && ch != 0x7f && ch != '\\') {
			if (n + 1 >= size)
				break;
			dst[n++] = (char)ch;
			continue;
		}
		if (n + 4 >= size)
			break;
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[ch >> 4];
		dst[n++] = hex[ch & 15];
	}
	dst[n] = '\0';
}

/* What certpull says a failed install left on disk, as its own text says it. */
static const char *
files_phrase(const char *files)
{
	if (strcmp(files, "untouched") == 0)
		return " (nothing changed)";
	if (strcmp(files, "restored") == 0)
		return " (previous files restored)";
	if (strcmp(files, "restore-pending") == 0)
		return " (the next run restores the previous files)";
	return "";
}

struct answer {
	char	result[32];
	char	error[512];
	char	step[64];
	char	files[32];
	char	fpr[CERT_FPR_LEN];
	char	serial[32];
};

static void
on_value(void *arg, const char *path, const char *value, int is_string)
{
	struct answer *a = arg;

	if (strcmp(path, "result") == 0 && is_string)
		snprintf(a->result, sizeof(a->result), "%s", value);
	else if (strcmp(path, "error") == 0 && is_string)
		snprintf(a->error, sizeof(a->error), "%s", value);
	else if (strcmp(path, "step") == 0 && is_string)
		snprintf(a->step, sizeof(a->step), "%s", value);
	else if (strcmp(path, "files") == 0 && is_string)
		snprintf(a->files, sizeof(a->files), "%s", value);
	else if (strcmp(path, "serial") == 0 && !is_string)
		snprintf(a->serial, sizeof(a->serial), "%s", value);
	else if (strcmp(path, "served.fingerprint") == 0 && is_string && a->fpr[0] == '\0')
		snprintf(a->fpr, sizeof(a->fpr), "%s", value);
}

int
parse_answer(struct delivery *d, const struct buf *answer, int status)
{
	struct answer a = { 0 };
	size_t len = answer->len;
	const char *text = (const char *)answer->data;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	/* serve refuses (1), receive's parser rejects (64) an unknown request. */
	if (d->dry_run && len == 0 && (status == 1 || status == 64)) {
		snprintf(d->error, sizeof(d->error), "the node's certpull refused the "
		    "verify-only request (exit status %d, no answer): it is older than "
		    "this certpush; nothing was checked there", status);
		return -1;
	}
	if (len == 0 || memchr(text, '\n', len) != NULL ||
	    json_scan(text, len, on_value, &a) == -1) {
		char said[160];

		/* Whatever it said, escaped and cut: it may be a clue. */
		node_text(said, sizeof(said), text, len);
		snprintf(d->error, sizeof(d->error), "certpull answered with exit status "
		    "%d and no valid outcome line%s%s%s", status, len ? ": \"" : "", said,
		    len ? "\"" : "");
		return -1;
	}
	d->serial = strtoull(a.serial, NULL, 10);
	if (d->dry_run && strcmp(a.result, "verified") == 0 && status == 0)
		d->result = DELIVERY_VERIFIED;
	else if (d->dry_run && (strcmp(a.result, "installed") == 0 ||
	    strcmp(a.result, "unchanged") == 0))
		snprintf(d->error, sizeof(d->error), "the node answered a verify-only "
		    "request with \"%s\"", a.result);
	else if (strcmp(a.result, "installed") == 0 && status == 0)
		d->result = DELIVERY_INSTALLED;
	else if (strcmp(a.result, "unchanged") == 0 && status == 2)
		d->result = DELIVERY_UNCHANGED;
	else if (strcmp(a.result, "failed") == 0 && status == 1) {
		char step[64], error[400];

		node_text(step, sizeof(step), a.step, strlen(a.step));
		node_text(error, sizeof(error), a.error, strlen(a.error));
		/* A dry run changes nothing anywhere: the summary says so once. */
		snprintf(d->error, sizeof(d->error), "%s: %s%s", step, error,
		    d->dry_run ? "" : files_phrase(a.files));
	} else
		snprintf(d->error, sizeof(d->error), "inconsistent answer: result \"%.32s\" "
		    "with exit status %d", a.result, status);
	/* A failed node serves the old certificate: it is not news. */
	if (d->result != DELIVERY_FAILED)
		node_text(d->fingerprint, sizeof(d->fingerprint), a.fpr, strlen(a.fpr));
	return d->result == DELIVERY_FAILED ? -1 : 0;
}

static void
deliver_ssh(struct delivery *d)
{
	const struct target *t = d->t;
	struct ssh_target st = { t->host, (unsigned)t->port, t->user, t->identity,
	    t->known_hosts, (unsigned)t->timeout };
	struct ssh_conn c;
	struct buf answer = { 0 };
	struct err e;
	int status = -1;

	if (ssh_open(&c, &st, &e) == -1) {
		snprintf(d->error, sizeof(d->error), "%s", e.msg);
		goto out;
	}
	if (ssh_exec(&c, d->dry_run ? "verify" : "receive", d->bundle->data,
	    d->bundle->len, &answer, ANSWER_CAP, &status, &e) == -1) {
		snprintf(d->error, sizeof(d->error), "%s%s", e.msg, d->dry_run ? "" :
		    " (not confirmed by the target: the retry will tell)");
		goto out;
	}
	parse_answer(d, &answer, status);
out:
	ssh_close(&c);
	buf_free(&answer);
}

static void
deliver_local(struct delivery *d)
{
	const struct target *t = d->t;
	char *argv[] = { t->certpull, "-c", t->certpull_config, "receive",
	    d->dry_run ? "--verify-only" : NULL, NULL };
	struct buf answer = { 0 };
	struct err e;
	int status;

	if (run_argv_io(argv, (unsigned)t->timeout, d->bundle->data, d->bundle->len,
	    &answer, ANSWER_CAP, &status, &e) == -1)
		snprintf(d->error, sizeof(d->error), "%s", e.msg);
	else
		parse_answer(d, &answer, status);
	buf_free(&answer);
}

void
deliver(struct delivery *d)
{
	long long start = clock_ms();

	d->result = DELIVERY_FAILED;
	if (d->bundle == NULL)
		return;
	d->error[0] = '\0';
	if (d->t->type == TARGET_LOCAL)
		deliver_local(d);
	else
		deliver_ssh(d);
	d->ms = clock_ms() - start;
}
