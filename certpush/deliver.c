#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "deliver.h"
#include "escape.h"
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
 * see str_escape_mem; backslashes are escaped too, so that what a node
 * wrote as text cannot pass for an escape of ours.
 */
void
node_text(char *dst, size_t size, const char *src, size_t len)
{
	if (size < 4) {
		dst[0] = '\0';
		return;
	}
	str_escape_mem(dst, size, src, len, ESC_BACKSLASH);
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
	struct delivered_item changed[DELIVERY_MAX_CHANGED];
	size_t	nchanged;
};

/* Copies a string of the answer, escaped here where it enters (node_text). */
#define TAKE(field, value)	node_text((field), sizeof(field), (value), strlen(value))

/* "changed": [{"item": ..., "fingerprint": ...}]: an item starts an entry. */
static void
on_changed(struct answer *a, const char *key, const char *value)
{
	struct delivered_item *c;

	if (strcmp(key, "item") == 0 && a->nchanged < DELIVERY_MAX_CHANGED) {
		c = &a->changed[a->nchanged++];
		TAKE(c->item, value);
	} else if (strcmp(key, "fingerprint") == 0 && a->nchanged > 0) {
		c = &a->changed[a->nchanged - 1];
		TAKE(c->fingerprint, value);
	}
}

static void
on_value(void *arg, const char *path, const char *value, int is_string)
{
	struct answer *a = arg;

	if (strcmp(path, "result") == 0 && is_string)
		TAKE(a->result, value);
	else if (strcmp(path, "error") == 0 && is_string)
		TAKE(a->error, value);
	else if (strcmp(path, "step") == 0 && is_string)
		TAKE(a->step, value);
	else if (strcmp(path, "files") == 0 && is_string)
		TAKE(a->files, value);
	else if (strcmp(path, "serial") == 0 && !is_string)
		TAKE(a->serial, value);
	else if (strncmp(path, "changed.", 8) == 0 && is_string)
		on_changed(a, path + 8, value);
	else if (strcmp(path, "served.fingerprint") == 0 && is_string && a->fpr[0] == '\0')
		TAKE(a->fpr, value);
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
		return ANSWER_NO_OUTCOME;
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
	else if (strcmp(a.result, "failed") == 0 && status == 1)
		/* A dry run changes nothing anywhere: the summary says so once. */
		snprintf(d->error, sizeof(d->error), "%s: %.400s%s", a.step, a.error,
		    d->dry_run ? "" : files_phrase(a.files));
	else
		snprintf(d->error, sizeof(d->error), "inconsistent answer: result \"%s\" "
		    "with exit status %d", a.result, status);
	/* A failed node serves the old certificate: it is not news. */
	if (d->result != DELIVERY_FAILED) {
		snprintf(d->fingerprint, sizeof(d->fingerprint), "%s", a.fpr);
		memcpy(d->changed, a.changed, sizeof(d->changed));
		d->nchanged = a.nchanged;
	}
	return d->result == DELIVERY_FAILED ? -1 : 0;
}

/*
 * Without an outcome line, what the remote side wrote on its standard
 * error is the clue (sudo asking for a password, a shell that cannot
 * find certpull): appended to d's error, escaped and cut.
 */
static void
add_stderr(struct delivery *d, const struct buf *text)
{
	size_t len = text->len, used = strlen(d->error);
	char said[400];

	while (len > 0 && (text->data[len - 1] == '\n' || text->data[len - 1] == '\r'))
		len--;
	if (len == 0)
		return;
	node_text(said, sizeof(said), (const char *)text->data, len);
	snprintf(d->error + used, sizeof(d->error) - used, "; its standard error: \"%s\"",
	    said);
}

static void
deliver_ssh(struct delivery *d)
{
	const struct target *t = d->t;
	struct ssh_target st = { t->host, (unsigned)t->port, t->user, t->identity,
	    t->known_hosts, (unsigned)t->timeout };
	struct ssh_conn c;
	struct buf answer = { 0 }, stderr_text = { 0 };
	struct err e;
	int status = -1;

	if (ssh_open(&c, &st, &e) == -1) {
		snprintf(d->error, sizeof(d->error), "%s", e.msg);
		goto out;
	}
	if (ssh_exec(&c, d->dry_run ? "verify" : "receive", d->bundle->data,
	    d->bundle->len, &answer, ANSWER_CAP, &stderr_text, &status, &e) == -1) {
		snprintf(d->error, sizeof(d->error), "%s%s", e.msg, d->dry_run ? "" :
		    " (not confirmed by the target: the retry will tell)");
		goto out;
	}
	if (parse_answer(d, &answer, status) == ANSWER_NO_OUTCOME)
		add_stderr(d, &stderr_text);
out:
	ssh_close(&c);
	buf_free(&answer);
	buf_free(&stderr_text);
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
	/*
	 * The error reaches report lines, the log and the state file: whatever
	 * a layer below let through (a library's text, a peer's), one line.
	 */
	str_escape_inplace(d->error, sizeof(d->error));
	d->ms = clock_ms() - start;
}
